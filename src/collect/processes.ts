// The per-process scan: stat of every pid, plus statm + io of the pids that may have changed, turned into
// rates against the previous scan. Identity is pid + starttime, so a reused pid is a new process, never a
// negative rate.
import { isDenied, isGone } from "../procfs/errors.ts";
import type { ProcFs } from "../procfs/fs.ts";
import { parsePidIoBytes } from "../procfs/pid-io.ts";
import { parsePidStatBytes, type PidStat } from "../procfs/pid-stat.ts";
import { parsePidStatmBytes } from "../procfs/pid-statm.ts";
import type { SelectionMetrics } from "./select.ts";
import { countError, type ErrorCounts } from "./types.ts";

/**
 * USER_HZ: the unit of utime/stime/starttime. The kernel exports these in USER_HZ, which is 100 on every
 * Linux architecture pmon targets (it is fixed ABI, independent of CONFIG_HZ); asking sysconf would need FFI.
 */
export const USER_HZ = 100;

/**
 * Page size for statm. 4096 on x86_64 (and default arm64 kernels); 64 KiB-page arm64/ppc64 kernels
 * would under-report by 16x. Good enough for the fleets pmon targets; reading it needs sysconf via FFI.
 */
const PAGE_SIZE = 4096;

/**
 * A process whose CPU time has not moved since the last scan did (next to) nothing: its io and statm are
 * read only every DETAIL_EVERY-th scan (spread by pid so every scan reads the same share), so a host of idle
 * processes costs little more than their stat. A process that moved is always read in full. Every 8th
 * rather than every 4th: 12-20 % less CPU per round at 3,000 idle processes (bench/collect.ts); what an idle
 * process's io did meanwhile is still counted at its next read, spread over the time since the last.
 */
export const DETAIL_EVERY = 8;

/** What is kept between scans for a live process: its counters and the things that never change. */
export interface ProcState {
  starttime: number;
  cpuTicks: number;
  /** undefined when /proc/PID/io could not be read */
  readBytes: number | undefined;
  writeBytes: number | undefined;
  /** seconds since boot when io was last read: an io delta covers the time since then, not one scan */
  ioAt?: number;
  /** cminflt + cutime + cstime at the last scan: it moves when the process reaps a child, whose io the kernel adds to it */
  reaped?: number;
  /** owner uid, read when the process is first reported (-1 = unreadable); the owner rarely changes */
  uid?: number;
  /** last comm seen: reused while unchanged, so steady processes allocate no string */
  comm: string;
  /** filled lazily, only for processes that get reported */
  cmdlineArgs?: string[];
  /** LISTEN ports found at `listenCheckedAt` (seconds since boot); refreshed now and then, see collector.ts */
  listenPorts?: number[];
  listenCheckedAt?: number;
  /**
   * Storage bytes of reaped children (and, in the /proc fallback, of exited threads) known to be inside
   * readBytes/writeBytes: the kernel adds a reaped child's io to its parent's /proc/PID/io. See exits.ts.
   */
  childReadBytes?: number;
  childWriteBytes?: number;
  /** cminflt + cutime + cstime at the last scan: it moves when the process reaps a child */
  reapSignature?: number;
}

/** One process in one scan; it is also the selection input (network rates are filled in by the collector). */
export interface ProcessSample extends SelectionMetrics {
  pid: number;
  stat: PidStat;
  state: ProcState;
  /** the process ended during the window: its figures come from the kernel's exit record (exits.ts) */
  exited?: boolean;
}

export interface ScanResult {
  processes: ProcessSample[];
  states: Map<number, ProcState>;
}

export interface ScanOptions {
  /** seconds since boot of this scan (the clock of ioAt) */
  uptime: number;
  /** a counter of scans: picks which idle processes get their io and statm read this time */
  round: number;
  /** read io and statm of idle processes every this many scans; 1 = always */
  detailEvery?: number;
}

/**
 * Reads every process. `prevUptime` is when the previous scan happened (seconds since boot): a process
 * started after it had all its counters inside this window, so its rates start from 0. A process that was
 * running but unseen before (first scan, earlier read failure) gets rates of 0 rather than a guess.
 */
export function scanProcesses(fs: ProcFs, prevStates: Map<number, ProcState>, prevUptime: number | undefined, dtSec: number, errors: ErrorCounts, opts: ScanOptions): ScanResult {
  const processes: ProcessSample[] = [];
  const states = new Map<number, ProcState>();
  const root = fs.root;
  const every = Math.max(1, opts.detailEvery ?? DETAIL_EVERY);
  const uptime = opts.uptime;
  for (const pid of fs.pids()) {
    const dir = `${root}/${pid}`;
    const statPath = `${dir}/stat`;
    const prev = prevStates.get(pid);
    let stat: PidStat;
    try {
      const r = fs.readPidStat(pid);
      if (r.len === 0) continue; // exited while we read it
      stat = parsePidStatBytes(r.buf, r.len, statPath, prev?.comm);
    } catch (e) {
      if (isGone(e)) continue;
      countError(errors, isDenied(e) ? "pid_stat_denied" : "pid_stat_parse");
      continue;
    }
    const same = prev !== undefined && prev.starttime === stat.starttime;
    const cpuTicks = stat.utime + stat.stime;
    const reaped = stat.cminflt + stat.cutime + stat.cstime;
    const detail = !same || cpuTicks !== prev.cpuTicks || reaped !== prev.reaped || (pid + opts.round) % every === 0;

    // stat's rss is the kernel's quick sum of the counters statm adds up exactly: fine between statm reads
    let rssPages = stat.rss;
    let readBytes: number | undefined = same ? prev.readBytes : undefined;
    let writeBytes: number | undefined = same ? prev.writeBytes : undefined;
    let ioAt = (same ? prev.ioAt : undefined) ?? uptime;
    if (detail) {
      // the exact rss is only reported: a scan without a window (the priming one) only sets baselines
      if (dtSec > 0) {
        const statmPath = `${dir}/statm`;
        try {
          const r = fs.readBytes(statmPath, true);
          rssPages = parsePidStatmBytes(r.buf, r.len, statmPath).resident;
        } catch (e) {
          if (isGone(e)) continue;
          countError(errors, isDenied(e) ? "pid_statm_denied" : "pid_statm_parse");
        }
      }
      const ioPath = `${dir}/io`;
      try {
        const r = fs.readBytes(ioPath, true);
        const io = parsePidIoBytes(r.buf, r.len, ioPath);
        readBytes = io.readBytes;
        writeBytes = io.writeBytes;
      } catch (e) {
        if (isGone(e)) continue;
        countError(errors, isDenied(e) ? "pid_io_denied" : "pid_io_parse");
        readBytes = undefined;
        writeBytes = undefined;
      }
    }

    let cpuPct = 0;
    let readPerS = 0;
    let writePerS = 0;
    const bornInWindow = !same && prevUptime !== undefined && stat.starttime / USER_HZ >= prevUptime;
    if ((same || bornInWindow) && dtSec > 0) {
      // a process born in the window started from zero counters
      const baseTicks = same ? prev.cpuTicks : 0;
      // ticks / USER_HZ = CPU seconds; per wall second x 100 = percent of one core
      cpuPct = (nonNegative(cpuTicks - baseTicks) / USER_HZ / dtSec) * 100;
      if (detail) {
        const baseRead = same ? prev.readBytes : 0;
        const baseWrite = same ? prev.writeBytes : 0;
        // io skipped in earlier scans accumulated since ioAt: spread it over that longer window
        const ioWindow = same && prev.ioAt !== undefined && uptime - prev.ioAt > dtSec ? uptime - prev.ioAt : dtSec;
        if (readBytes !== undefined && baseRead !== undefined) readPerS = nonNegative(readBytes - baseRead) / ioWindow;
        if (writeBytes !== undefined && baseWrite !== undefined) writePerS = nonNegative(writeBytes - baseWrite) / ioWindow;
      }
    }
    if (detail) ioAt = uptime;

    let state: ProcState;
    if (same) {
      // updated in place: one object per live process for its whole life, not one per scan
      state = prev;
      state.cpuTicks = cpuTicks;
      state.readBytes = readBytes;
      state.writeBytes = writeBytes;
      state.ioAt = ioAt;
      state.reaped = reaped;
      if (state.comm !== stat.comm) {
        // exec() keeps pid and starttime but changes comm: what was cached about the old program is stale
        state.comm = stat.comm;
        state.cmdlineArgs = undefined;
        state.listenCheckedAt = undefined;
      }
    } else {
      state = { starttime: stat.starttime, cpuTicks, readBytes, writeBytes, ioAt, reaped, comm: stat.comm };
    }
    states.set(pid, state);
    processes.push({ pid, stat, state, cpuPct, rssBytes: rssPages * PAGE_SIZE, readBytesPerS: readPerS, writeBytesPerS: writePerS, netRxBytesPerS: 0, netTxBytesPerS: 0 });
  }
  fs.retainPids(states);
  return { processes, states };
}

function nonNegative(x: number): number {
  return x > 0 ? x : 0;
}
