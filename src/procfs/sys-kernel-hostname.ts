// /proc/sys/kernel/hostname: the UTS hostname (read from the tree so fixture roots are deterministic).
import type { ProcFs } from "./fs.ts";

export function readHostname(fs: ProcFs): string {
  return fs.readText(`${fs.root}/sys/kernel/hostname`).trim();
}
