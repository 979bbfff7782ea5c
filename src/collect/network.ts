// The collector's network hook: per-process, per-connection and per-listening-port TCP rates from
// NETLINK_SOCK_DIAG, and each interface's traffic that no socket accounts for. The accounting rules (priming,
// closed sockets, loopback) are in the header of src/net/traffic-accounting.ts.
import { statfsSync } from "node:fs";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { probeKernel, type KernelOpeners } from "../net/kernel-probe.ts";
import { InterfaceResolver, readInterfaceAddresses } from "../net/interface-addresses.ts";
import { SocketOwners, type CpuTicksOf } from "../net/socket-owners.ts";
import { TrafficAccounting, type WindowTraffic } from "../net/traffic-accounting.ts";
import { LISTEN_STATES, type DiagSocket } from "../net/inet-diag.ts";
import type { ConnectionRecord, InterfaceStats, ListenPortRecord, UnattributedRecord } from "../protocol/report.ts";
import { countError, type NetworkCollector, type NetworkSample } from "./types.ts";

const MiB = 1024 * 1024;
const PROC_SUPER_MAGIC = 0x9fa0;
const DESTROY_POLL_MS = 1000;
// Closed connections that moved bytes wait here until the next sample (some 300 bytes each): past this many
// in one window (over 650 such closes/s at a 30 s interval) the rest is counted as net_destroy_dropped and
// its bytes stay unattributed. Closes that moved nothing are counted and forgotten as they are read.
const MAX_PENDING_DESTROYED = 20_000;
// Notifications read per drain (one per datagram, every DESTROY_POLL_MS): beyond that rate they wait in the
// kernel's queue, which drops the excess when full (net_destroy_overflow), so a flood costs bounded CPU.
const MAX_DESTROY_DATAGRAMS_PER_DRAIN = 65_536;
// A restart this soon after the last sample keeps that sample as the window's start instead of dumping
// every socket and walking every fd again (`agent --once` creates the collector and restarts it at once).
const RESTART_REUSE_MS = 1000;

export interface NetworkCollectorOptions {
  /** where /proc/PID/fd is read for the socket → process map */
  procRoot: string;
  log: Logger;
  /** thresholds.net_mib_s: a connection over this, in or out, is always reported */
  netMibS: number;
  /** besides those, the N busiest connections are reported */
  topN: number;
  /** subscribe to socket-destroy notifications when allowed (default true) */
  destroyEvents?: boolean;
  /** closed connections with bytes held between two samples (default MAX_PENDING_DESTROYED; tests set it low) */
  maxPendingDestroyed?: number;
  /** monotonic clock in ms (default performance.now) */
  clock?: () => number;
  /** tests: stand-ins for the kernel sockets */
  kernel?: KernelOpeners;
}

/** A sample plus the window it covers, so rate × window gives back the bytes. */
export interface TimedNetworkSample extends NetworkSample {
  /** ms since the previous sample (or since the collector started) */
  window_ms: number;
}

export interface SockDiagNetworkCollector extends NetworkCollector {
  sample(interfaces: InterfaceStats[], cpuTicks?: CpuTicksOf): TimedNetworkSample;
  /** running totals of the destroy notifications handled since the start */
  readonly destroyStats: Readonly<DestroyStats>;
}

export interface DestroyStats {
  /** notifications read */
  read: number;
  /** read and forgotten at once: they credited nothing */
  ignored: number;
  /** counted bytes but found the pending list full (net_destroy_dropped) */
  dropped: number;
  /** the most notifications ever held between two samples */
  maxPending: number;
}

/**
 * The agent's network collector, or undefined when `agent.proc_root` is not a live procfs (a fixture tree):
 * sock_diag always reports the live kernel, which must match the processes the collector reads.
 */
export function createAgentNetworkCollector(config: ResolvedConfig, log: Logger): SockDiagNetworkCollector | undefined {
  let live = false;
  try {
    live = statfsSync(config.agent.proc_root).type === PROC_SUPER_MAGIC;
  } catch {
    // unreadable: the process collector reports that
  }
  if (!live) return undefined;
  return createNetworkCollector({
    procRoot: config.agent.proc_root,
    log,
    netMibS: config.thresholds.net_mib_s,
    topN: config.agent.top_n,
  });
}

/** Starts the collector; the window of its first sample() begins here. */
export function createNetworkCollector(opts: NetworkCollectorOptions): SockDiagNetworkCollector {
  const clock = opts.clock ?? (() => performance.now());
  const probe = probeKernel(opts.destroyEvents ?? true, opts.kernel);
  const caps = probe.capabilities;
  opts.log.info(
    `network: sock_diag ${caps.sock_diag ? "on" : "off"}, tcp_info ${caps.tcp_info_len} B, ` +
      `destroy notifications ${caps.tcp_destroy_events ? "on" : "off"}, ipv6 ${caps.tcp_ipv6 ? "on" : "off"}` +
      (probe.notes.length ? ` (${probe.notes.join("; ")})` : ""),
  );
  const owners = new SocketOwners(opts.procRoot);
  const accounting = new TrafficAccounting(caps.tcp_destroy_events ? 2 : 0);
  let resolver = new InterfaceResolver([], "lo");
  let last: number | null = null;
  // Destroy notifications are read every second between samples too, so a burst of short connections
  // over a long report interval does not overflow the kernel's socket buffer.
  let pendingDestroyed: DiagSocket[] = [];
  let pendingErrors: Record<string, number> = {};
  const maxPending = opts.maxPendingDestroyed ?? MAX_PENDING_DESTROYED;
  const destroyStats: DestroyStats = { read: 0, ignored: 0, dropped: 0, maxPending: 0 };
  function drainDestroyed(): void {
    if (!probe.destroy) return;
    try {
      const d = probe.destroy.drain({
        counts: (c) => accounting.destroyCounts(c),
        maxKept: maxPending - pendingDestroyed.length,
        maxDatagrams: MAX_DESTROY_DATAGRAMS_PER_DRAIN,
      });
      for (const s of d.sockets) pendingDestroyed.push(s);
      if (d.dropped) countError(pendingErrors, "net_destroy_dropped", d.dropped);
      if (d.overflowed) countError(pendingErrors, "net_destroy_overflow");
      if (d.malformed) countError(pendingErrors, "net_destroy_malformed", d.malformed);
      destroyStats.read += d.ignored + d.sockets.length + d.dropped + d.malformed;
      destroyStats.ignored += d.ignored;
      destroyStats.dropped += d.dropped;
      destroyStats.maxPending = Math.max(destroyStats.maxPending, pendingDestroyed.length);
    } catch (e) {
      countError(pendingErrors, "net_destroy_events");
      opts.log.debug(`network: reading destroy notifications failed: ${(e as Error).message}`);
    }
  }
  const poll = probe.destroy ? setInterval(drainDestroyed, DESTROY_POLL_MS) : undefined;
  poll?.unref();

  function sample(interfaces: InterfaceStats[], cpuTicks?: CpuTicksOf): TimedNetworkSample {
    const now = clock();
    const windowMs = last === null ? 0 : now - last;
    last = now;
    const errors: Record<string, number> = {};
    if (!probe.diag) return unattributedOnly(interfaces, windowMs, errors);
    let sockets: DiagSocket[];
    try {
      sockets = probe.diag.dumpTcp(caps.tcp_ipv6);
    } catch (e) {
      countError(errors, "net_sock_diag");
      opts.log.debug(`network: socket dump failed: ${(e as Error).message}`);
      return unattributedOnly(interfaces, windowMs, errors);
    }
    drainDestroyed();
    const destroyed = pendingDestroyed;
    pendingDestroyed = [];
    for (const [kind, n] of Object.entries(pendingErrors)) countError(errors, kind, n);
    pendingErrors = {};
    try {
      const a = readInterfaceAddresses();
      resolver = new InterfaceResolver(a.addresses, a.loopback);
    } catch (e) {
      countError(errors, "net_addresses"); // keep the previous address table
      opts.log.debug(`network: reading interface addresses failed: ${(e as Error).message}`);
    }
    const deniedBefore = owners.stats.fdDirsDenied;
    const needed = new Set<number>();
    for (const s of sockets) if (accounting.ownerNeeded(s)) needed.add(s.inode);
    const map = owners.resolve(
      sockets.map((s) => s.inode),
      needed,
      cpuTicks,
    );
    if (owners.stats.fdDirsDenied > deniedBefore) countError(errors, "net_fd_denied", owners.stats.fdDirsDenied - deniedBefore);
    let unknownOwner = 0;
    for (const inode of needed) if (!map.has(inode)) unknownOwner++;
    if (unknownOwner > 0) countError(errors, "net_owner_unknown", unknownOwner); // other pid namespace, or fd dir denied
    const traffic = accounting.next({
      sockets,
      destroyed,
      owners: map,
      interfaceOf: (l, r) => resolver.interfaceOf(l, r),
    });
    if (!traffic.primed || windowMs <= 0) return { byPid: new Map(), connections: [], listen_ports: listenPorts(traffic, 1), unattributed: [], errors, window_ms: windowMs };
    return toRates(traffic, interfaces, windowMs / 1000, errors, opts);
  }

  // Prime now, so the first sample() the collector makes already covers a whole window; what failed
  // while priming is reported with that first sample.
  pendingErrors = sample([]).errors;
  return {
    sample,
    restart() {
      // the window then starts at that sample, a moment ago
      if (last === null || clock() - last >= RESTART_REUSE_MS) pendingErrors = sample([]).errors;
      opts.log.debug("network: window starts");
    },
    listenSockets() {
      if (!probe.diag) return undefined;
      return probe.diag.dumpTcp(caps.tcp_ipv6, LISTEN_STATES).map((s) => ({ port: s.localPort, inode: s.inode }));
    },
    capabilities: { ...caps },
    destroyStats,
    close() {
      clearInterval(poll);
      probe.diag?.close();
      probe.destroy?.close();
    },
  };
}

function toRates(
  t: WindowTraffic,
  interfaces: InterfaceStats[],
  seconds: number,
  errors: Record<string, number>,
  opts: NetworkCollectorOptions,
): TimedNetworkSample {
  const byPid = new Map<number, { rx_bytes_per_s: number; tx_bytes_per_s: number }>();
  for (const [pid, b] of t.byPid) byPid.set(pid, { rx_bytes_per_s: b.rxBytes / seconds, tx_bytes_per_s: b.txBytes / seconds });
  const threshold = opts.netMibS * MiB;
  const active = t.sockets
    .filter((s) => s.rxBytes + s.txBytes > 0)
    .map((s) => ({
      pid: s.pid,
      local: s.local,
      remote: s.remote,
      rx_bytes_per_s: round2(s.rxBytes / seconds),
      tx_bytes_per_s: round2(s.txBytes / seconds),
    }))
    .sort((a, b) => b.rx_bytes_per_s + b.tx_bytes_per_s - (a.rx_bytes_per_s + a.tx_bytes_per_s));
  const connections: ConnectionRecord[] = active.filter(
    (c, i) => i < opts.topN || c.rx_bytes_per_s >= threshold || c.tx_bytes_per_s >= threshold,
  );
  // Per direction: interface rate minus the socket payload on it (headers, retransmits, UDP, ICMP, other
  // namespaces' traffic remain). On lo each payload byte is one socket's tx and another's rx, as lo counts it.
  // Clamped at 0 where the collector's interface window and ours differ slightly.
  const unattributed: UnattributedRecord[] = [];
  for (const i of interfaces) {
    const a = t.byInterface.get(i.name);
    const rx = Math.max(0, i.rx_bytes_per_s - (a?.rxBytes ?? 0) / seconds);
    const tx = Math.max(0, i.tx_bytes_per_s - (a?.txBytes ?? 0) / seconds);
    if (rx > 0 || tx > 0) unattributed.push({ interface: i.name, rx_bytes_per_s: round2(rx), tx_bytes_per_s: round2(tx) });
  }
  return { byPid, connections, listen_ports: listenPorts(t, seconds), unattributed, errors, window_ms: seconds * 1000 };
}

function listenPorts(t: WindowTraffic, seconds: number): ListenPortRecord[] {
  return t.listenPorts
    .map((p) => ({ port: p.port, pid: p.pid, connections: p.connections, rx_bytes_per_s: round2(p.rxBytes / seconds), tx_bytes_per_s: round2(p.txBytes / seconds) }))
    .sort((a, b) => a.port - b.port);
}

/** Without sock_diag every interface byte is unattributed. */
function unattributedOnly(interfaces: InterfaceStats[], windowMs: number, errors: Record<string, number>): TimedNetworkSample {
  return {
    byPid: new Map(),
    connections: [],
    listen_ports: [],
    unattributed: interfaces
      .filter((i) => i.rx_bytes_per_s > 0 || i.tx_bytes_per_s > 0)
      .map((i) => ({ interface: i.name, rx_bytes_per_s: i.rx_bytes_per_s, tx_bytes_per_s: i.tx_bytes_per_s })),
    errors,
    window_ms: windowMs,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
