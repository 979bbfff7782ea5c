// Socket inode → pid, kept across samples. Only inodes not seen before trigger a scan of /proc/*/fd, and the
// scan stops as soon as every wanted inode is found, starting with the processes that already own sockets
// (servers accepting connections), so a warm agent rarely reads more than a few fd directories.
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";

// An inode nobody could be found for (a process in another pid namespace, a socket in flight between
// socket()/accept() and fd install) is searched for again only after this many samples.
const RETRY_MISSING_AFTER_SAMPLES = 10;

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
  /** inode → sample number of the scan that failed to find it */
  private readonly missing = new Map<number, number>();
  private sample = 0;
  private listedLastScan = new Set<number>();
  /** pid → fd name → socket inode (0 = not a socket) from the last read of that process */
  private readonly fdCache = new Map<number, Map<string, number>>();
  readonly stats: OwnerScanStats = { fdDirsRead: 0, linksRead: 0, fdDirsDenied: 0 };

  constructor(private readonly procRoot: string) {}

  /**
   * Updates the map for the sockets of the current dump (inode 0 = no file yet) and returns it.
   * `needed` limits the search to the sockets whose owner matters now (listeners, sockets that moved bytes):
   * an idle new socket is looked up once it carries traffic.
   */
  resolve(inodes: Iterable<number>, needed?: ReadonlySet<number>): ReadonlyMap<number, number> {
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
    for (const i of current) {
      if (this.owner.has(i) || (needed && !needed.has(i))) continue;
      const failedAt = this.missing.get(i);
      if (failedAt === undefined) wanted.add(i);
      else if (this.sample - failedAt >= RETRY_MISSING_AFTER_SAMPLES) {
        wanted.add(i);
        retry = true;
      }
    }
    // a retry reads every link again, in case a cached fd was closed and its number reused meanwhile
    if (wanted.size > 0) this.scan(wanted, current, !retry);
    for (const i of wanted) this.missing.set(i, this.sample);
    return this.owner;
  }

  // Read first the processes most likely to own new sockets and cheapest to read: those started since the
  // last scan (short-lived clients), then those already owning sockets (servers), then everything else.
  private scan(wanted: Set<number>, liveSockets: ReadonlySet<number>, useCache: boolean): void {
    const known = new Set(this.owner.values());
    const fresh: number[] = [];
    const others: number[] = [];
    const listed = new Set<number>();
    for (const name of safeReaddir(this.procRoot)) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      listed.add(pid);
      if (known.has(pid)) continue;
      (this.listedLastScan.has(pid) ? others : fresh).push(pid);
    }
    this.listedLastScan = listed;
    for (const pid of this.fdCache.keys()) if (!listed.has(pid)) this.fdCache.delete(pid);
    // numeric order within each group, so the scan does not depend on the filesystem's directory order
    const byPid = (a: number, b: number) => a - b;
    for (const pid of [...fresh.sort(byPid), ...[...known].sort(byPid), ...others.sort(byPid)]) {
      this.scanPid(pid, wanted, liveSockets, useCache);
      if (wanted.size === 0) return;
    }
  }

  /**
   * Reads one process's fd links. An fd that held a TCP socket which is still alive almost always still
   * holds it, so with `useCache` only the other fds are read again: a server holding thousands of
   * connections costs a readdir plus its new fds. (The exception, that fd closed and its number reused while
   * a dup in another process keeps the socket alive, is caught by the periodic full retry.)
   */
  private scanPid(pid: number, wanted: Set<number>, liveSockets: ReadonlySet<number>, useCache: boolean): void {
    const dir = join(this.procRoot, String(pid), "fd");
    let fds: string[];
    try {
      fds = readdirSync(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM") this.stats.fdDirsDenied++;
      return; // ENOENT: the process exited meanwhile
    }
    this.stats.fdDirsRead++;
    const cached = useCache ? this.fdCache.get(pid) : undefined;
    const next = new Map<string, number>();
    for (const fd of fds) {
      let inode = cached?.get(fd);
      if (inode === undefined || inode === 0 || !liveSockets.has(inode)) {
        let target: string;
        try {
          target = readlinkSync(join(dir, fd));
        } catch {
          continue; // the fd was closed meanwhile
        }
        this.stats.linksRead++;
        inode = socketInode(target) ?? 0;
      }
      next.set(fd, inode);
      if (inode !== 0 && wanted.delete(inode)) {
        this.owner.set(inode, pid);
        this.missing.delete(inode);
      }
    }
    this.fdCache.set(pid, next);
  }
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
