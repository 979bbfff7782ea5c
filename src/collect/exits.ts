// Processes that end: what the kernel does with their counters, and how pmon keeps each figure with the
// process that caused it.
//
// When a parent reaps a child (wait()), the kernel adds the child's storage io, and that of everything the
// child had reaped, to the parent's /proc/PID/io (and its CPU to cutime/cstime, which pmon never reads as
// the parent's own: utime/stime exclude children). So `sh -c 'dd ...; sleep 30'` would show the shell
// writing what dd wrote. And a process that starts and ends between two scans is never seen at all.
//
// With taskstats (src/net/taskstats-listener.ts) the kernel sends each exiting task's final counters with
// its pid, thread group and parent. Per window:
//   - a process whose last thread exited is "exited"; its own io and CPU are the sum of its threads'
//     records in the window (a process seen by the previous scan gets only the part after that scan);
//   - what its parent received at reaping = its /proc reading at exit (its own io plus what it had
//     reaped) is subtracted from the parent's delta, recursively for processes that reaped and exited in
//     the same window;
//   - an exited process still in this scan is a zombie not yet reaped: it waits for the next window;
//   - a parent whose children counters (cminflt, cutime, cstime) did not move reaped nothing (its children
//     were reaped automatically, SIGCHLD ignored): nothing is subtracted from it.
// Without taskstats (not privileged, not the initial namespaces, taskstats older than version 12) the
// fallback reads /proc/PID/task/*/io of each process that reaped a child in the window: the sum over its
// live threads is its own io, the rest of /proc/PID/io came from reaped children (and from its own threads
// that exited, which this fallback loses).
import { statfsSync, statSync } from "node:fs";
import type { Logger } from "../log.ts";
import { isGone } from "../procfs/errors.ts";
import type { ProcFs } from "../procfs/fs.ts";
import { parsePidIoBytes } from "../procfs/pid-io.ts";
import { EACCES, EINVAL, ENOENT, EPERM, SyscallError } from "../util/libc.ts";
import { TASKSTATS_VERSION_THREAD_GROUP, type TaskExit } from "../net/taskstats.ts";
import { TaskstatsListener } from "../net/taskstats-listener.ts";
import { USER_HZ, type ProcessSample, type ProcState, type ScanResult } from "./processes.ts";
import { countError, type ErrorCounts, type ExitSource } from "./types.ts";
export type { ExitSource };

const PROC_SUPER_MAGIC = 0x9fa0;
const DRAIN_POLL_MS = 1000;
// Records wait here between drains (~250 bytes each): past this many in one window the rest is dropped
// and counted as exits_overflow.
const MAX_PENDING_EXITS = 100_000;
// Recursion guard for parent chains inside one window (pid reuse could make a cycle).
const MAX_DEPTH = 64;

/** Where exit records come from: the kernel (taskstats), or nothing (the /proc fallback). */
/**
 * The agent's exit source: taskstats when the kernel allows it, else the fallback; undefined when `procRoot`
 * is not a live procfs (a fixture tree): exit records describe the live kernel, not the tree.
 */
export function createExitSource(procRoot: string, log: Logger, open: () => TaskstatsListener = TaskstatsListener.open): ExitSource | undefined {
  const fallback = ({ code, why }: TaskstatsOff): ExitSource => {
    log.info(`exits: taskstats off (${why}): reaped children's io is told apart by summing /proc/PID/task/*/io; processes that start and end between samples are not seen`);
    return { drain: () => null, capabilities: { taskstats: false, taskstats_off: code, exit_accounting: "proc_threads" }, close() {} };
  };
  let live = false;
  try {
    live = statfsSync(procRoot).type === PROC_SUPER_MAGIC;
  } catch {
    // unreadable: the process collector reports that
  }
  if (!live) return undefined;
  let listener: TaskstatsListener;
  try {
    listener = open();
  } catch (e) {
    return fallback(refusedBecause(e instanceof SyscallError ? e.errno : 0, ownNamespaces(procRoot), (e as Error).message));
  }
  // One exit of our own tells the record version: before 12 a thread's exit cannot be told from a process's.
  try {
    Bun.spawnSync(["/bin/sh", "-c", ":"], { stdio: ["ignore", "ignore", "ignore"] });
  } catch {
    // no /bin/sh: another process's exit may still tell the version below
  }
  const first = listener.drain().exits;
  const version = first.length > 0 ? first[0]!.version : 0;
  if (version < TASKSTATS_VERSION_THREAD_GROUP) {
    listener.close();
    return fallback(
      version === 0
        ? { code: "not_initial_network_namespace", why: "no exit record arrived for a probe process: the kernel sends them into the initial network namespace only" }
        : { code: "taskstats_too_old", why: `taskstats version ${version} has no thread group id (needs ${TASKSTATS_VERSION_THREAD_GROUP})` },
    );
  }
  log.info(`exits: taskstats version ${version} on`);

  let pending: TaskExit[] = [];
  let pendingErrors: ErrorCounts = {};
  const pull = (): void => {
    try {
      const d = listener.drain();
      if (pending.length + d.exits.length > MAX_PENDING_EXITS) countError(pendingErrors, "exits_overflow");
      else for (const e of d.exits) pending.push(e);
      if (d.overflowed) countError(pendingErrors, "exits_overflow");
      if (d.malformed) countError(pendingErrors, "exits_malformed", d.malformed);
    } catch (e) {
      countError(pendingErrors, "exits_read");
      log.debug(`exits: reading taskstats failed: ${(e as Error).message}`);
    }
  };
  // Drained every second too, so a burst of exits over a long interval does not overflow the socket buffer.
  const poll = setInterval(pull, DRAIN_POLL_MS);
  poll.unref();
  return {
    drain() {
      pull();
      const out = { exits: pending, errors: pendingErrors };
      pending = [];
      pendingErrors = {};
      return out;
    },
    capabilities: { taskstats: true, taskstats_version: version, exit_accounting: "taskstats" },
    close() {
      clearInterval(poll);
      listener.close();
    },
  };
}

/** Why there is no taskstats: a short code for `capabilities.taskstats_off`, and the words for the start-up log. */
export interface TaskstatsOff {
  code: string;
  why: string;
}

/** Whether this process is in the initial PID and user namespaces; undefined when /proc does not say. */
export interface OwnNamespaces {
  initialPid: boolean | undefined;
  initialUser: boolean | undefined;
}

// The initial namespaces have fixed inode numbers (PROC_USER_INIT_INO, PROC_PID_INIT_INO in the kernel's
// include/linux/proc_ns.h); every other namespace gets a new one.
const PROC_USER_INIT_INO = 0xeffffffd;
const PROC_PID_INIT_INO = 0xeffffffc;

export function ownNamespaces(procRoot: string): OwnNamespaces {
  const initial = (kind: string, ino: number): boolean | undefined => {
    try {
      return statSync(`${procRoot}/self/ns/${kind}`).ino === ino;
    } catch {
      return undefined; // a /proc of another PID namespace has no "self" for this process
    }
  };
  return { initialPid: initial("pid", PROC_PID_INIT_INO), initialUser: initial("user", PROC_USER_INIT_INO) };
}

/**
 * Why the kernel refused the listener (errno of the registration), named by what would have to change. Outside
 * the initial PID namespace (a container) no privilege helps, so that comes first, whatever the errno: the
 * kernel checks CAP_NET_ADMIN (in the initial user namespace) before it checks the namespaces.
 */
export function refusedBecause(errno: number, ns: OwnNamespaces, message: string): TaskstatsOff {
  if (errno === ENOENT) return { code: "no_taskstats_family", why: "no TASKSTATS family in this kernel" };
  const denied = errno === EPERM || errno === EACCES;
  if (denied || errno === EINVAL) {
    if (ns.initialPid === false) {
      return { code: "not_initial_pid_namespace", why: "not the initial PID namespace, as in a container: the kernel accepts listeners from the initial PID and user namespaces only" };
    }
    if (ns.initialUser === false) {
      return { code: "not_initial_user_namespace", why: "needs CAP_NET_ADMIN in the initial user namespace, and this is another one: the kernel accepts listeners from the initial PID and user namespaces only" };
    }
  }
  if (denied) return { code: "no_cap_net_admin", why: "needs CAP_NET_ADMIN" };
  if (errno === EINVAL) return { code: "refused", why: "the kernel accepts listeners from the initial PID and user namespaces only" };
  return { code: "error", why: message };
}

/** One process's exit records in a window. */
interface ExitGroup {
  tgid: number;
  records: TaskExit[];
  /** the record of its last thread; undefined while threads of a live process exit */
  last: TaskExit | undefined;
  /** earlier windows this group was carried over */
  carried: number;
}

export interface ExitWindow {
  fs: ProcFs;
  scan: ScanResult;
  prevStates: Map<number, ProcState>;
  /** boot time, epoch seconds (start times in /proc are ticks after it) */
  btime: number;
  dtSec: number;
  errors: ErrorCounts;
}

/** Keeps each process's io its own and turns exit records into samples; state carries zombies to the next window. */
export class ExitAccounting {
  private carried: ExitGroup[] = [];

  constructor(private readonly source: ExitSource) {}

  /** Called right after the scan (so every child reaped before its parent was read has its record here). Returns the exited processes. */
  account(w: ExitWindow): ProcessSample[] {
    const drained = this.source.drain();
    if (drained === null) {
      subtractByThreadSums(w);
      return [];
    }
    for (const [kind, n] of Object.entries(drained.errors)) countError(w.errors, kind, n);
    return this.accountExits(drained.exits, w);
  }

  close(): void {
    this.source.close();
  }

  /** Exposed for tests: the accounting of one window's records. */
  accountExits(exits: readonly TaskExit[], w: ExitWindow): ProcessSample[] {
    const groups = new Map<number, ExitGroup>();
    for (const g of this.carried) groups.set(g.tgid, g);
    this.carried = [];
    for (const e of exits) {
      if (e.tgid === 0) continue; // never from taskstats version 12 on
      let g = groups.get(e.tgid);
      if (!g) groups.set(e.tgid, (g = { tgid: e.tgid, records: [], last: undefined, carried: 0 }));
      g.records.push(e);
      if (e.groupDead) g.last = e;
    }
    const live = w.scan.states;
    const exited: ExitGroup[] = [];
    for (const g of groups.values()) {
      const st = live.get(g.tgid);
      const start = startOf(g);
      if (g.last === undefined) {
        // threads of a process that lives on are already in its own reading; a process missing from the
        // scan may be ending right now: its last record comes with the next drain
        if (!st && g.carried === 0) this.carried.push({ ...g, carried: 1 });
        continue;
      }
      if (st && sameStart(st.starttime, start, w.btime)) {
        this.carried.push(g); // a zombie: its parent has not reaped it yet, so nothing moved to the parent
        continue;
      }
      exited.push(g);
    }
    const byParent = new Map<number, ExitGroup[]>();
    for (const g of exited) {
      const ppid = g.last!.ppid;
      const list = byParent.get(ppid);
      if (list) list.push(g);
      else byParent.set(ppid, [g]);
    }

    const samples: ProcessSample[] = [];
    const reading = new Map<ExitGroup, { read: number; write: number }>();
    // The /proc reading of g at its exit: what its parent receives when it reaps g.
    const finalReading = (g: ExitGroup, depth: number): { read: number; write: number } => {
      const known = reading.get(g);
      if (known) return known;
      reading.set(g, { read: 0, write: 0 }); // cycle guard
      let ownRead = 0;
      let ownWrite = 0;
      let ownUs = 0;
      for (const r of g.records) {
        ownRead += r.readBytes;
        ownWrite += r.writeBytes;
        ownUs += r.utimeUs + r.stimeUs;
      }
      let childRead = 0;
      let childWrite = 0;
      if (depth < MAX_DEPTH) {
        for (const c of byParent.get(g.tgid) ?? []) {
          if (c === g) continue;
          const r = finalReading(c, depth + 1);
          childRead += r.read;
          childWrite += r.write;
        }
      }
      const start = startOf(g);
      const prevState = w.prevStates.get(g.tgid);
      const prev = prevState && sameStart(prevState.starttime, start, w.btime) ? prevState : undefined;
      const ownTicks = ownUs / (1_000_000 / USER_HZ);
      let out: { read: number; write: number };
      let sample: { cpuTicks: number; read: number; write: number };
      if (prev && prev.readBytes !== undefined && prev.writeBytes !== undefined) {
        // seen before: its own io since the previous scan is what its records add beyond its own part then
        const stretchRead = Math.max(0, ownRead - (prev.readBytes - (prev.childReadBytes ?? 0)));
        const stretchWrite = Math.max(0, ownWrite - (prev.writeBytes - (prev.childWriteBytes ?? 0)));
        out = { read: prev.readBytes + stretchRead + childRead, write: prev.writeBytes + stretchWrite + childWrite };
        sample = { cpuTicks: Math.max(0, ownTicks - prev.cpuTicks), read: stretchRead, write: stretchWrite };
      } else if (prev) {
        out = { read: ownRead + childRead, write: ownWrite + childWrite }; // its io was unreadable before
        sample = { cpuTicks: Math.max(0, ownTicks - prev.cpuTicks), read: 0, write: 0 };
      } else {
        out = { read: ownRead + childRead, write: ownWrite + childWrite };
        sample = { cpuTicks: ownTicks, read: ownRead, write: ownWrite };
      }
      reading.set(g, out);
      samples.push(exitedSample(g, start, prev, sample, w));
      return out;
    };
    for (const g of exited) finalReading(g, 0);

    // Subtract from each live parent what it received from the children it reaped in this window.
    if (byParent.size > 0) {
      for (const p of w.scan.processes) {
        const kids = byParent.get(p.pid);
        const signature = reapSignature(p);
        const prevSignature = p.state.reapSignature;
        p.state.reapSignature = signature;
        if (!kids) continue;
        if (prevSignature !== undefined && signature === prevSignature) continue; // reaped nothing: autoreaped children
        let read = 0;
        let write = 0;
        for (const c of kids) {
          const r = reading.get(c)!;
          read += r.read;
          write += r.write;
        }
        subtractChildren(p, read, write, w.dtSec);
      }
    } else {
      for (const p of w.scan.processes) p.state.reapSignature = reapSignature(p);
    }
    return samples;
  }
}

/** The /proc fallback: for processes that reaped in the window, own io = the sum over their live threads. */
export function subtractByThreadSums(w: ExitWindow): void {
  for (const p of w.scan.processes) {
    const signature = reapSignature(p);
    const prevSignature = p.state.reapSignature;
    p.state.reapSignature = signature;
    if (prevSignature === undefined ? signature === 0 : signature === prevSignature) continue;
    const whole = p.state;
    if (whole.readBytes === undefined || whole.writeBytes === undefined) continue;
    const threads = readThreadIoSum(w.fs, p.pid, w.errors);
    if (!threads) continue;
    // not from children: what the threads read now is less than the whole by what came from elsewhere
    const childRead = Math.max(0, whole.readBytes - threads.read);
    const childWrite = Math.max(0, whole.writeBytes - threads.write);
    subtractChildren(p, childRead - (whole.childReadBytes ?? 0), childWrite - (whole.childWriteBytes ?? 0), w.dtSec);
    whole.childReadBytes = childRead;
    whole.childWriteBytes = childWrite;
  }
}

/** Takes `read`/`write` bytes that came from reaped children out of p's rates and records them as such. */
function subtractChildren(p: ProcessSample, read: number, write: number, dtSec: number): void {
  p.state.childReadBytes = (p.state.childReadBytes ?? 0) + read;
  p.state.childWriteBytes = (p.state.childWriteBytes ?? 0) + write;
  if (dtSec <= 0) return;
  if (read > 0) p.readBytesPerS = Math.max(0, p.readBytesPerS - read / dtSec);
  if (write > 0) p.writeBytesPerS = Math.max(0, p.writeBytesPerS - write / dtSec);
}

function readThreadIoSum(fs: ProcFs, pid: number, errors: ErrorCounts): { read: number; write: number } | null {
  const dir = `${fs.root}/${pid}/task`;
  let read = 0;
  let write = 0;
  try {
    for (const tid of fs.listDir(dir)) {
      const path = `${dir}/${tid}/io`;
      try {
        const r = fs.readBytes(path, true);
        const io = parsePidIoBytes(r.buf as Buffer, r.len, path);
        read += io.readBytes;
        write += io.writeBytes;
      } catch (e) {
        if (!isGone(e)) throw e; // a thread that just ended: its io went to the process's dead-thread total
      }
    }
  } catch (e) {
    if (!isGone(e)) countError(errors, "pid_task_io");
    return null;
  }
  return { read, write };
}

function reapSignature(p: ProcessSample): number {
  return p.stat.cminflt + p.stat.cutime + p.stat.cstime;
}

/** The process's start, epoch seconds: from its first thread's record (the last thread may have started later). */
function startOf(g: ExitGroup): number {
  const leader = g.records.find((r) => r.pid === g.tgid);
  return (leader ?? g.last ?? g.records[0]!).startS;
}

/** /proc start (ticks after boot) and a taskstats start (epoch seconds, truncated) name the same moment. */
function sameStart(starttimeTicks: number, startS: number, btime: number): boolean {
  return Math.abs(btime + starttimeTicks / USER_HZ - startS) <= 1.5;
}

function exitedSample(g: ExitGroup, startS: number, prev: ProcState | undefined, figures: { cpuTicks: number; read: number; write: number }, w: ExitWindow): ProcessSample {
  const last = g.last!;
  const leader = g.records.find((r) => r.pid === g.tgid);
  const comm = leader?.comm ?? prev?.comm ?? last.comm;
  const starttime = prev ? prev.starttime : Math.max(0, Math.round((startS - w.btime) * USER_HZ));
  const dt = w.dtSec > 0 ? w.dtSec : 1;
  return {
    pid: g.tgid,
    exited: true,
    stat: { pid: g.tgid, comm, state: "X", ppid: last.ppid, cminflt: 0, utime: 0, stime: 0, cutime: 0, cstime: 0, numThreads: 0, starttime, rss: 0 },
    // cmdline cannot be read any more (the pid may already belong to another process): only what was cached
    state: { starttime, cpuTicks: figures.cpuTicks, readBytes: undefined, writeBytes: undefined, uid: prev?.uid ?? last.uid, comm, cmdlineArgs: prev?.cmdlineArgs ?? [] },
    cpuPct: (figures.cpuTicks / USER_HZ / dt) * 100,
    rssBytes: 0,
    readBytesPerS: figures.read / dt,
    writeBytesPerS: figures.write / dt,
    netRxBytesPerS: 0,
    netTxBytesPerS: 0,
  };
}
