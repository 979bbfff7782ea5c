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

/** The file as UTF-8 text (what programs pass); invalid bytes become U+FFFD rather than mojibake. */
export function readPidCmdlineText(fs: ProcFs, pid: number): string {
  // readText is latin1 (one char per byte): turn it back into bytes, then decode them as UTF-8
  return Buffer.from(fs.readText(`${fs.root}/${pid}/cmdline`), "latin1").toString("utf8");
}
