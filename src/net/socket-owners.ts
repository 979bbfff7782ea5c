// Socket inode → pid, kept across samples. Only inodes not seen before trigger a scan of /proc/*/fd, and the
// scan stops as soon as every wanted inode is found, starting with the processes that already own sockets
// (servers accepting connections), so a warm agent rarely reads more than a few fd directories.
// A process that has never used a tick of CPU is read last: thousands of idle ones (workers, sleepers)
// rarely open connections, and reading all their fds costs as much as a whole process scan. A socket seen
// for the first time is not looked for among them at all: under connection churn most new sockets are gone
// (or their owner is) before the scan reaches them, and a search that cannot succeed reads every fd on the
// host every sample. One still there at the next sample is looked for everywhere.
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { heldFiles } from "../util/held-fds.ts";
import { DENIED, FdDirReader } from "./fd-dir.ts";
import { EACCES, EPERM } from "../util/libc.ts";

// An inode nobody could be found for (a process in another pid namespace, a socket in flight between
// socket()/accept() and fd install) is searched for again only after this many samples and this much time:
// each search reads every fd of every process, as much as a whole process scan at a short interval.
const RETRY_MISSING_AFTER_SAMPLES = 10;
const RETRY_MISSING_AFTER_MS = 300_000;

export interface OwnerScanStats {
  /** fd directories listed in the last resolve */
  fdDirsRead: number;
  /** fd links read in the last resolve */
  linksRead: number;
  /** fd directories that could not be read (permission), summed over the agent's life */
  fdDirsDenied: number;
}

export class SocketOwners {
  private readonly owner = new Map<number, number>();
  /** inode → sample number and time (ms) of the scan that failed to find it */
  private readonly missing = new Map<number, { sample: number; at: number }>();
  private sample = 0;
  private listedLastScan = new Set<number>();
  /** the inodes of the previous dump */
  private previousDump = new Set<number>();
  /** pid → fd number → socket inode, from the last read of that process (processes holding sockets only) */
  private readonly fdCache = new Map<number, Map<number, number>>();
  private readonly dir = new FdDirReader();
  readonly stats: OwnerScanStats = { fdDirsRead: 0, linksRead: 0, fdDirsDenied: 0 };

  /** this process's pid as procRoot numbers it (its own connections to the server are new every report) */
  private readonly self: number;

  constructor(
    private readonly procRoot: string,
    /** monotonic ms */
    private readonly now: () => number = () => performance.now(),
  ) {
    let self = 0;
    try {
      self = Number(readlinkSync(join(procRoot, "self")));
    } catch {
      // a fixture tree has no "self": nothing to put first
    }
    this.self = Number.isInteger(self) ? self : 0;
  }

  /**
   * Updates the map for the sockets of the current dump (inode 0 = no file yet) and returns it.
   * `needed` limits the search to the sockets whose owner matters now (listeners, sockets that moved bytes):
   * an idle new socket is looked up once it carries traffic.
   * `cpuTicks` (the process scan's CPU time of a pid, when known) orders the search, busiest first; a
   * socket seen for the first time is not looked for among processes without any (see the header).
   */
  resolve(inodes: Iterable<number>, needed?: ReadonlySet<number>, cpuTicks?: CpuTicksOf): ReadonlyMap<number, number> {
    this.sample++;
    this.stats.fdDirsRead = 0;
    this.stats.linksRead = 0;
    const current = new Set<number>();
    for (const i of inodes) if (i !== 0) current.add(i);
    // forget closed sockets, and sockets whose owner exited (a forked child may hold them now)
    const alive = new Map<number, boolean>();
    for (const [inode, pid] of this.owner) {
      let ok = alive.get(pid);
      if (ok === undefined) alive.set(pid, (ok = existsSync(join(this.procRoot, String(pid)))));
      if (!current.has(inode) || !ok) this.owner.delete(inode);
    }
    for (const inode of this.missing.keys()) if (!current.has(inode)) this.missing.delete(inode);
    const wanted = new Set<number>();
    let retry = false;
    // the first sample looks everywhere: what it finds gives the owners of sockets that close in the first window
    let everywhere = this.sample === 1;
    const now = this.now();
    for (const i of current) {
      if (this.owner.has(i) || (needed && !needed.has(i))) continue;
      const failed = this.missing.get(i);
      if (failed === undefined) {
        wanted.add(i);
        if (this.previousDump.has(i)) everywhere = true;
      } else if (this.sample - failed.sample >= RETRY_MISSING_AFTER_SAMPLES && now - failed.at >= RETRY_MISSING_AFTER_MS) {
        wanted.add(i);
        retry = true;
        everywhere = true;
      }
    }
    this.previousDump = current;
    // a retry reads every link again, in case a cached fd was closed and its number reused meanwhile
    const searchedAll = wanted.size === 0 || this.scan(wanted, current, !retry, everywhere ? undefined : cpuTicks, cpuTicks);
    // what a search of every process did not find is looked for again only after a while
    if (searchedAll) for (const i of wanted) this.missing.set(i, { sample: this.sample, at: now });
    return this.owner;
  }

  // Read first the processes most likely to own new sockets and cheapest to read: the agent itself (its
  // report connections), those started since the last scan (short-lived clients), then those already
  // owning sockets (servers), then everything else, those that used the most CPU first. With `skipIdleBy`,
  // processes that never used CPU are not read at all. Returns whether every process was read.
  private scan(wanted: Set<number>, liveSockets: ReadonlySet<number>, useCache: boolean, skipIdleBy: CpuTicksOf | undefined, cpuTicks?: CpuTicksOf): boolean {
    // the agent's own report connection is the usual new socket: found there, no process list is needed
    if (this.self > 0) {
      this.scanPid(this.self, wanted, liveSockets, useCache);
      if (wanted.size === 0) return false;
    }
    const known = new Set(this.owner.values());
    const fresh: number[] = [];
    const others: number[] = [];
    const listed = new Set<number>();
    for (const name of safeReaddir(this.procRoot)) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      listed.add(pid);
      if (known.has(pid) || pid === this.self) continue;
      (this.listedLastScan.has(pid) ? others : fresh).push(pid);
    }
    this.listedLastScan = listed;
    for (const pid of this.fdCache.keys()) if (!listed.has(pid)) this.fdCache.delete(pid);
    // numeric order within each group, so the scan does not depend on the filesystem's directory order
    const byPid = (a: number, b: number) => a - b;
    if (cpuTicks) sortBusiestFirst(others, cpuTicks);
    else others.sort(byPid);
    const skipped = skipIdleBy ? others.findIndex((pid) => !((skipIdleBy(pid) ?? 0) > 0)) : -1;
    if (skipped >= 0) others.length = skipped;
    for (const pid of [...fresh.sort(byPid), ...[...known].sort(byPid).filter((p) => p !== this.self), ...others]) {
      this.scanPid(pid, wanted, liveSockets, useCache);
      if (wanted.size === 0) return false;
    }
    return skipped < 0;
  }

  /**
   * Reads one process's fd links. An fd that held a TCP socket which is still alive almost always still
   * holds it, so with `useCache` only the other fds are read again: a server holding thousands of
   * connections costs a readdir plus its new fds. (The exception, that fd closed and its number reused while
   * a dup in another process keeps the socket alive, is caught by the periodic full retry.)
   */
  private scanPid(pid: number, wanted: Set<number>, liveSockets: ReadonlySet<number>, useCache: boolean): void {
    const dir = this.dir;
    const err = dir.open(`${this.procRoot}/${pid}/fd`);
    if (err !== 0) {
      if (err === EACCES || err === EPERM) this.stats.fdDirsDenied++;
      return; // ENOENT: the process exited meanwhile
    }
    try {
      this.stats.fdDirsRead++;
      const cached = useCache ? this.fdCache.get(pid) : undefined;
      // only processes holding sockets are cached: what else an fd holds is read again anyway
      let next: Map<number, number> | undefined;
      // the agent's own kept /proc files are not sockets (thousands of them on a big host)
      const skipHeld = pid === this.self && heldFiles.size > 0;
      for (const fd of dir.fds) {
        if (skipHeld && heldFiles.has(fd)) continue;
        let inode = cached?.get(fd);
        if (inode === undefined || !liveSockets.has(inode)) {
          inode = dir.socketInode(fd);
          if (inode === DENIED) {
            // a process whose fd directory lists but whose links are refused (another user namespace's
            // init, a non-dumpable process): none of its links will read, so none is tried
            this.stats.fdDirsDenied++;
            break;
          }
          if (inode < 0) continue; // the fd was closed meanwhile
          this.stats.linksRead++;
          if (inode === 0) continue;
        }
        (next ??= new Map()).set(fd, inode);
        if (wanted.delete(inode)) {
          this.owner.set(inode, pid);
          this.missing.delete(inode);
        }
      }
      if (next) this.fdCache.set(pid, next);
      else this.fdCache.delete(pid);
    } finally {
      dir.close();
    }
  }
}

/** CPU ticks (utime + stime) a process has used, or undefined when unknown. */
export type CpuTicksOf = (pid: number) => number | undefined;

/** Most CPU first (unknown counts as 0); pid order among equals, so the order never depends on readdir. */
function sortBusiestFirst(pids: number[], cpuTicks: CpuTicksOf): void {
  const ticks = new Map<number, number>();
  for (const pid of pids) ticks.set(pid, cpuTicks(pid) ?? 0);
  pids.sort((a, b) => ticks.get(b)! - ticks.get(a)! || a - b);
}

/** "socket:[12345]" → 12345; anything else → null. */
export function socketInode(linkTarget: string): number | null {
  if (!linkTarget.startsWith("socket:[") || !linkTarget.endsWith("]")) return null;
  const n = Number(linkTarget.slice(8, -1));
  return Number.isInteger(n) && n > 0 ? n : null;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
