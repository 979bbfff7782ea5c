// The process list and /proc/PID/stat of every process, the part of a scan done for every process.
// The list comes from getdents64 on a kept descriptor of the root, as numbers, without a string per entry.
// Each stat is read through a descriptor kept open from one scan to the next: a scan then
// costs one pread per process instead of open + read + close, and the open's path walk (/proc, the pid's
// directory, "stat", each a lookup and an access check) is half the kernel's work for this small file.
// A kept descriptor belongs to the process, not to its number: once the process is gone, reading it fails
// with ESRCH even if the number has been reused, and the number is then opened afresh.
// The price is one descriptor per process and the kernel's read buffer behind it (one page). Descriptors
// are kept up to a budget well under the open-file limit, for the whole process; processes beyond it are
// read the ordinary way.
import { readFileSync } from "node:fs";
import { readNumericEntries, writeDecimal } from "../util/dirents.ts";
import { heldFiles } from "../util/held-fds.ts";
import { errno, errnoName, ESRCH, getLibc, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from "../util/libc.ts";
import type { ReadBytes } from "./read.ts";

const SEEK_SET = 0;
const STAT_NAME = [0x2f, 0x73, 0x74, 0x61, 0x74, 0]; // "/stat\0"

/** Kept descriptors at most, whatever the limit: each holds a page of kernel memory. */
const MAX_KEPT = 32_768;
/** Descriptors left for everything else the agent opens (sockets, files, the fd walk). */
const RESERVED_FDS = 512;

export class PidStatFiles {
  private readonly kept = new Map<number, number>();
  private readonly budget: number;
  private dirFd = -1;
  /** "PID/stat" NUL-terminated, relative to the root's descriptor */
  private readonly name = new Uint8Array(32);
  /** one stat line is under a page: the kernel renders it in one seq_file record */
  private readonly buf = Buffer.allocUnsafe(4096);
  private readonly last: ReadBytes = { buf: this.buf, len: 0 };
  private readonly dents = new Uint8Array(64 * 1024);

  constructor(
    private readonly root: string,
    budget = keepBudget(),
  ) {
    this.budget = budget;
  }

  /** The numeric entries of the root (one per process), in directory order. */
  pids(): number[] {
    const libc = getLibc();
    const fd = this.rootFd();
    if (Number(libc.lseek(fd, 0, SEEK_SET)) < 0) throw errnoError(errno(), this.root);
    const pids: number[] = [];
    const e = readNumericEntries(fd, this.dents, pids);
    if (e !== 0) throw errnoError(e, this.root);
    return pids;
  }

  /** The stat of `pid`, in a buffer shared with the next read. Throws an error with `code` as node:fs would. */
  read(pid: number): ReadBytes {
    const libc = getLibc();
    const fd = this.kept.get(pid);
    if (fd !== undefined) {
      const n = Number(libc.pread(fd, this.buf, this.buf.length, 0));
      if (n >= 0) return this.done(n);
      const e = errno();
      this.drop(pid, fd);
      // any other failure is the process's answer now; ESRCH: the process we held is gone, the number may be reused
      if (e !== ESRCH) throw errnoError(e, this.pathOf(pid));
    }
    const opened = libc.openat(this.rootFd(), this.nameOf(pid), O_RDONLY | O_CLOEXEC);
    if (opened < 0) throw errnoError(errno(), this.pathOf(pid));
    const n = Number(libc.pread(opened, this.buf, this.buf.length, 0));
    if (n < 0) {
      const e = errno();
      libc.close(opened);
      throw errnoError(e, this.pathOf(pid));
    }
    // the budget is the process's, whatever number of readers keep files
    if (heldFiles.size < this.budget) {
      this.kept.set(pid, opened);
      heldFiles.add(opened);
    } else libc.close(opened);
    return this.done(n);
  }

  /** Closes the descriptors of processes that are not in `live` (called after each scan). */
  retain(live: { has(pid: number): boolean }): void {
    for (const [pid, fd] of this.kept) if (!live.has(pid)) this.drop(pid, fd);
  }

  /** Closes every descriptor; the reader may still be used, it then opens them again. */
  close(): void {
    if (this.kept.size === 0 && this.dirFd < 0) return;
    for (const [pid, fd] of this.kept) this.drop(pid, fd);
    if (this.dirFd >= 0) getLibc().close(this.dirFd);
    this.dirFd = -1;
  }

  /** descriptors held now */
  get size(): number {
    return this.kept.size;
  }

  private drop(pid: number, fd: number): void {
    heldFiles.delete(fd);
    getLibc().close(fd);
    this.kept.delete(pid);
  }

  private done(n: number): ReadBytes {
    this.last.len = n;
    return this.last;
  }

  private rootFd(): number {
    if (this.dirFd < 0) {
      const path = Buffer.from(`${this.root}\0`);
      const fd = getLibc().open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) throw errnoError(errno(), this.root);
      this.dirFd = fd;
    }
    return this.dirFd;
  }

  private nameOf(pid: number): Uint8Array {
    let len = writeDecimal(this.name, 0, pid);
    for (const c of STAT_NAME) this.name[len++] = c;
    return this.name;
  }

  private pathOf(pid: number): string {
    return `${this.root}/${pid}/stat`;
  }
}

/** Half the soft open-file limit less a reserve, from /proc/self/limits; 0 (keep nothing) when unknown. */
export function keepBudget(limitsText?: string): number {
  let text = limitsText;
  try {
    text ??= readFileSync("/proc/self/limits", "latin1");
  } catch {
    return 0;
  }
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(text)?.[1];
  if (soft === undefined) return 0;
  const limit = soft === "unlimited" ? Infinity : Number(soft);
  return Math.max(0, Math.min(MAX_KEPT, Math.floor(limit / 2) - RESERVED_FDS));
}

/** An error with `code` as node:fs gives it, which isGone/isDenied read. */
function errnoError(e: number, path: string): Error {
  const code = errnoName(e) ?? `errno ${e}`;
  return Object.assign(new Error(`${code}: ${path}`), { code, errno: e, path });
}
