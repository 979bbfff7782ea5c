// /proc/[pid]/cmdline: arguments separated (and usually ended) by NUL; empty for kernel threads and zombies.
import type { ProcFs } from "./fs.ts";

/** The arguments as they were passed (NUL-separated), trailing empty ones dropped. */
export function parsePidCmdlineArgs(text: string): string[] {
  const args = text.split("\0");
  while (args.length > 0 && args[args.length - 1] === "") args.pop();
  return args;
}

/** One line for display: NULs become spaces, trimmed. */
export function parsePidCmdline(text: string): string {
  return text.replaceAll("\0", " ").trim();
}

export function readPidCmdlineText(fs: ProcFs, pid: number): string {
  return fs.readText(`${fs.root}/${pid}/cmdline`);
}
