// Contracts of the collect layer: what a collector needs, and the network collector it may be given.
import type { Logger } from "../log.ts";
import type { ProcFs } from "../procfs/fs.ts";
import type { ExitSource } from "./exits.ts";
import type { ConnectionRecord, InterfaceStats, ListenPortRecord, UnattributedRecord } from "../protocol/report.ts";

export interface NetworkSample {
  /** per-process network rates over the network collector's own window */
  byPid: Map<number, { rx_bytes_per_s: number; tx_bytes_per_s: number }>;
  connections: ConnectionRecord[];
  listen_ports: ListenPortRecord[];
  unattributed: UnattributedRecord[];
  /** failures by kind, merged into the report's collector_errors */
  errors: Record<string, number>;
}

/** Implemented by src/collect/network.ts; optional for createCollector. */
export interface NetworkCollector {
  /**
   * Called once per collection, after the interface counters and before the process scan (so sockets
   * and processes are read as close together as possible); its byPid rates are merged into the scan.
   */
  sample(interfaces: InterfaceStats[]): NetworkSample;
  /** Called by the collector's priming call: the next sample's window starts now (what came before is dropped). */
  restart?(): void;
  capabilities: Record<string, boolean | number | string>;
  close(): void;
}

/** A process is kept when it passes any one of these (units as in config [thresholds]). */
export interface SelectionThresholds {
  process_cpu_pct: number;
  process_mem_gib: number;
  disk_io_mib_s: number;
  net_mib_s: number;
}

/** The subset of statfs(2) pmon uses; fs.statfsSync returns it. */
export interface StatfsResult {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

export interface CollectorOptions {
  proc: ProcFs;
  sysRoot: string;
  host: string;
  agentVersion: string;
  /** mount points to watch; empty = every real filesystem */
  mounts: readonly string[];
  topN: number;
  thresholds: SelectionThresholds;
  log: Logger;
  network?: NetworkCollector;
  /** exit records (taskstats) or the /proc fallback for reaped children; none for fixture trees */
  exits?: ExitSource;
  /** uid -> name source, read once (default /etc/passwd) */
  passwdPath?: string;
  /** injectable for tests (default fs.statfsSync) */
  statfs?: (path: string) => StatfsResult;
  /** wall clock for report.time (default Date.now) */
  now?: () => number;
  /** report ids are `${idPrefix}-${sequence}` (default a random UUID per collector) */
  idPrefix?: string;
  /** words whose values are masked in command lines, besides the built-in ones (agent.sensitive_words) */
  sensitiveWords?: readonly string[];
  /** run a full garbage collection after each collect() (default true: lower peak RSS, see collector.ts) */
  gcAfterCollect?: boolean;
}

/** Collection error counters, e.g. { pid_io_denied: 3 }. */
export type ErrorCounts = Record<string, number>;

export function countError(errors: ErrorCounts, kind: string, n = 1): void {
  errors[kind] = (errors[kind] ?? 0) + n;
}
