// createCollector: a stateful object whose collect() returns one Report with rates since the previous
// call. collect() is synchronous (all reads are sync: cheaper in CPU than async reads of many small files); the first call
// only primes the counters and returns null. State kept between calls: previous counters of live
// processes (vanished ones are dropped), of disks and interfaces, and cached cmdline args/uids.
import { isGone } from "../procfs/errors.ts";
import type { ProcFs } from "../procfs/fs.ts";
import { parsePidCmdlineArgs, readPidCmdlineText } from "../procfs/pid-cmdline.ts";
import { readPidSocketInodes } from "../procfs/pid-fd.ts";
import { readListenSockets } from "../procfs/net-tcp.ts";
import { readStat } from "../procfs/stat.ts";
import { readUptime } from "../procfs/uptime.ts";
import { fitReport } from "../protocol/fit.ts";
import { PROTOCOL_VERSION, type ProcessRecord, type Report } from "../protocol/report.ts";
import { cpuStats, diskStats, filesystemStats, interfaceStats, memoryStats, readHostSample, round2, type HostSample } from "./host.ts";
import { formatInstance } from "./instance.ts";
import { createMasker, type Masker } from "./mask.ts";
import { scanProcesses, USER_HZ, type ProcessSample, type ProcState } from "./processes.ts";
import { restOf, selectKept } from "./select.ts";
import { countError, type CollectorOptions, type ErrorCounts, type NetworkCollector, type NetworkSample } from "./types.ts";
import { ExitAccounting } from "./exits.ts";
import { createUserResolver } from "./users.ts";

export interface Collector {
  /** One report with rates since the previous call; null on the first call (it primes the counters). */
  collect(source?: CollectSource): Report | null;
  /** Releases the kernel subscriptions it holds (the exit records). */
  close(): void;
}

/** Where to read this one collection from (tests read a second fixture tree; the agent never passes it). */
export interface CollectSource {
  proc?: ProcFs;
  sysRoot?: string;
}

interface Previous {
  /** seconds since boot, from <proc>/uptime */
  uptime: number;
  /** performance.now() at the same moment, for trees whose uptime does not move (a fixture read twice) */
  monotonicMs: number;
  host: HostSample;
  processes: Map<number, ProcState>;
}

const NO_NETWORK_CAPABILITIES = { sock_diag: false };

/**
 * How long a kept process's LISTEN ports are reused before its fds are walked again. Reading /proc/net/tcp
 * costs as much as the sockets on the host (15-20 ms with 2,000 of them) and servers rarely change ports,
 * so a port opened later shows up within this time.
 */
const LISTEN_REFRESH_S = 300;

/** Full garbage collections after a collection are this far apart at least (the default interval: every round). */
const FULL_GC_EVERY_MS = 30_000;

export function createCollector(opts: CollectorOptions): Collector {
  const userName = createUserResolver(opts.passwdPath);
  const masker = createMasker(opts.sensitiveWords);
  const idPrefix = opts.idPrefix ?? crypto.randomUUID();
  const now = opts.now ?? Date.now;
  let sequence = 0;
  let scans = 0;
  let prev: Previous | undefined;
  const listenTable: ListenTable = { portByInode: new Map(), readAt: undefined };
  const exits = opts.exits ? new ExitAccounting(opts.exits) : undefined;
  const gc = opts.gc ?? ((full: boolean) => Bun.gc(full));
  const monotonicNow = opts.monotonicNow ?? (() => performance.now());
  let lastFullGc: number | undefined;

  const collectOnce = (source: CollectSource): Report | null => {
    const fs = source.proc ?? opts.proc;
    const sysRoot = source.sysRoot ?? opts.sysRoot;
    const errors: ErrorCounts = {};
    const stat = readStat(fs);
    const uptime = readUptime(fs);
    const monotonicMs = performance.now();
    const host = readHostSample(fs, sysRoot, stat, errors);

    // The window is measured on the kernel's boot clock (the clock of process start times);
    // a tree whose clock stands still (a fixture read twice) falls back to our own monotonic clock.
    let dtSec = prev ? uptime - prev.uptime : 0;
    if (prev && dtSec <= 0) dtSec = (monotonicMs - prev.monotonicMs) / 1000;
    // Sockets are sampled right after the host counters, before the (long) process scan, so the
    // network window is the same as the host's and per-process rates use the same interval.
    const interfaces = prev && dtSec > 0 ? interfaceStats(host, prev.host, dtSec, sysRoot) : [];
    if (!prev) opts.network?.restart?.();
    const network: NetworkSample =
      opts.network && prev && dtSec > 0
        ? opts.network.sample(interfaces, cpuTicksIn(prev.processes))
        : { byPid: new Map(), connections: [], listen_ports: [], unattributed: [], errors: {} };
    const scan = scanProcesses(fs, prev?.processes ?? new Map(), prev?.uptime, dtSec, errors, { uptime, round: scans++, detailEvery: opts.detailEvery });
    // right after the scan: reaped children's io leaves their parents, exited processes join the list
    // (also on the priming call, which sets every process's baseline)
    const exited = exits?.account({ fs, scan, prevStates: prev?.processes ?? new Map(), btime: stat.btime, dtSec: prev ? dtSec : 0, errors }) ?? [];
    const previous = prev;
    prev = { uptime, monotonicMs, host, processes: scan.states };
    if (!previous || dtSec <= 0) return null;
    for (const [kind, n] of Object.entries(network.errors)) countError(errors, kind, n);

    const metrics = exited.length > 0 ? scan.processes.concat(exited) : scan.processes;
    if (network.byPid.size > 0) {
      for (const p of metrics) {
        const net = network.byPid.get(p.pid);
        if (net) {
          p.netRxBytesPerS = net.rx_bytes_per_s;
          p.netTxBytesPerS = net.tx_bytes_per_s;
        }
      }
    }
    const kept = selectKept(metrics, opts.topN, opts.thresholds);
    const rest = restOf(metrics, kept);
    const keptIdx = [...kept].sort((a, b) => metrics[a]!.pid - metrics[b]!.pid);
    const keptProcesses = keptIdx.map((i) => metrics[i]!);
    refreshListenPorts(fs, opts.network, listenTable, keptProcesses.filter((p) => !p.exited && (p.state.listenCheckedAt === undefined || uptime - p.state.listenCheckedAt >= LISTEN_REFRESH_S || uptime < p.state.listenCheckedAt)), uptime, errors);
    const processes = keptProcesses.map((p) => processRecord(fs, p, stat.btime, p.state.listenPorts ?? [], userName, masker, errors));

    sequence++;
    return {
      v: PROTOCOL_VERSION,
      id: `${idPrefix}-${sequence}`,
      host: opts.host,
      agent_version: opts.agentVersion,
      time: now(),
      interval_ms: Math.max(1, Math.round(dtSec * 1000)),
      system: {
        cpu: cpuStats(host, previous.host),
        memory: memoryStats(host.meminfo),
        filesystems: filesystemStats(fs, opts.mounts, opts.statfs, errors),
        disks: diskStats(host, previous.host, dtSec),
        interfaces,
      },
      processes,
      rest: {
        count: rest.count,
        cpu_pct: round2(rest.cpu_pct),
        rss_bytes: rest.rss_bytes,
        read_bytes_per_s: round2(rest.read_bytes_per_s),
        write_bytes_per_s: round2(rest.write_bytes_per_s),
        net_rx_bytes_per_s: round2(rest.net_rx_bytes_per_s),
        net_tx_bytes_per_s: round2(rest.net_tx_bytes_per_s),
      },
      connections: network.connections,
      listen_ports: network.listen_ports,
      unattributed: network.unattributed,
      capabilities: { ...(opts.network ? opts.network.capabilities : NO_NETWORK_CAPABILITIES), ...opts.exits?.capabilities },
      collector_errors: errors,
    };
  };

  return {
    collect(source = {}) {
      const collected = collectOnce(source);
      // cut to what the server accepts, so one odd item never costs the whole report
      const report = collected && fitReport(collected);
      // A scan leaves thousands of short-lived objects; collecting them right away keeps the agent's peak
      // RSS lower. A full collection costs 8-15 ms at 3,000 processes, as much as a fifth of a short round:
      // it runs at most every FULL_GC_EVERY_MS, the rounds in between only sweep the young objects.
      if (opts.gcAfterCollect !== false) {
        const t = monotonicNow();
        const full = lastFullGc === undefined || t - lastFullGc >= FULL_GC_EVERY_MS;
        if (full) lastFullGc = t;
        gc(full);
      }
      return report;
    },
    close() {
      exits?.close();
      opts.proc.close();
    },
  };
}

function cpuTicksIn(states: Map<number, ProcState>): (pid: number) => number | undefined {
  return (pid) => states.get(pid)?.cpuTicks;
}

function processRecord(fs: ProcFs, p: ProcessSample, btime: number, listen: number[], userName: (uid: number) => string, masker: Masker, errors: ErrorCounts): ProcessRecord {
  // the owner is read once, when the process is first reported: most processes never are
  if (p.state.uid === undefined) {
    try {
      p.state.uid = fs.ownerUid(`${fs.root}/${p.pid}`);
    } catch (e) {
      if (!isGone(e)) countError(errors, "pid_owner");
      p.state.uid = -1;
    }
  }
  // cmdline never changes for a pid:starttime, so it is read once and kept with the process state,
  // secrets already masked: the clear text is never held past this point
  if (p.state.cmdlineArgs === undefined) {
    try {
      p.state.cmdlineArgs = masker.maskArgs(parsePidCmdlineArgs(readPidCmdlineText(fs, p.pid)));
    } catch {
      p.state.cmdlineArgs = []; // vanished or denied: report the comm alone
    }
  }
  const args = p.state.cmdlineArgs;
  return {
    pid: p.pid,
    // btime is whole seconds; starttime is ticks after boot
    start_time: btime * 1000 + Math.round((p.stat.starttime * 1000) / USER_HZ),
    ppid: p.stat.ppid,
    user: p.state.uid < 0 ? "" : userName(p.state.uid),
    comm: p.stat.comm,
    cmdline: args.join(" ").trim(),
    instance: formatInstance(args, listen),
    cpu_pct: round2(p.cpuPct),
    rss_bytes: p.rssBytes,
    read_bytes_per_s: round2(p.readBytesPerS),
    write_bytes_per_s: round2(p.writeBytesPerS),
    net_rx_bytes_per_s: round2(p.netRxBytesPerS),
    net_tx_bytes_per_s: round2(p.netTxBytesPerS),
    threads: p.stat.numThreads,
    exited: p.exited === true,
  };
}

/** LISTEN sockets of the host (inode -> port) and when they were read (seconds since boot). */
interface ListenTable {
  portByInode: Map<number, number>;
  readAt: number | undefined;
}

/**
 * Sets the LISTEN ports of these processes: socket inodes from /proc/net/tcp{,6} matched to their fds.
 * The socket table is re-read only when it is older than LISTEN_REFRESH_S or one of the processes started
 * after it was read (its sockets cannot be in it); newly kept old processes reuse it.
 */
function refreshListenPorts(fs: ProcFs, network: NetworkCollector | undefined, table: ListenTable, stale: ProcessSample[], uptime: number, errors: ErrorCounts): void {
  if (stale.length === 0) return;
  const readAt = table.readAt;
  if (readAt === undefined || uptime - readAt >= LISTEN_REFRESH_S || uptime < readAt || stale.some((p) => p.stat.starttime / USER_HZ >= readAt)) {
    try {
      const sockets = network?.listenSockets?.() ?? readListenSockets(fs);
      table.portByInode = new Map(sockets.map((s) => [s.inode, s.port]));
      table.readAt = uptime;
    } catch {
      countError(errors, "net_tcp_read");
      return;
    }
  }
  const portByInode = table.portByInode;
  for (const p of stale) {
    p.state.listenCheckedAt = uptime;
    p.state.listenPorts = [];
    if (portByInode.size === 0) continue;
    try {
      for (const inode of readPidSocketInodes(fs, p.pid)) {
        const port = portByInode.get(inode);
        if (port !== undefined) p.state.listenPorts.push(port);
      }
    } catch (e) {
      if (!isGone(e)) countError(errors, "pid_fd_denied");
    }
  }
}
