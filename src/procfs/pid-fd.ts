// /proc/[pid]/fd/*: symlinks; sockets read "socket:[INODE]". Used to map listening sockets to pids.
import type { ProcFs } from "./fs.ts";

/** Inode of a "socket:[123]" link target, or undefined for anything else. */
export function parseSocketLink(target: string): number | undefined {
  if (!target.startsWith("socket:[") || !target.endsWith("]")) return undefined;
  const inode = Number(target.slice(8, -1));
  return Number.isInteger(inode) ? inode : undefined;
}

/** Socket inodes held open by a process. Links that vanish while we read are skipped. */
export function readPidSocketInodes(fs: ProcFs, pid: number): number[] {
  const dir = `${fs.root}/${pid}/fd`;
  const inodes: number[] = [];
  for (const fd of fs.listDir(dir)) {
    let target: string;
    try {
      target = fs.readLink(`${dir}/${fd}`);
    } catch {
      continue; // fd closed between readdir and readlink
    }
    const inode = parseSocketLink(target);
    if (inode !== undefined) inodes.push(inode);
  }
  return inodes;
}
