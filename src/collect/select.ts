// Which processes get their own record: any threshold passed, or top N by CPU, memory, disk or network.
// Everything else is summed into `rest`, so kept + rest always add up to the sum over all processes.
import type { RestRecord } from "../protocol/report.ts";
import type { SelectionThresholds } from "./types.ts";

export interface SelectionMetrics {
  cpuPct: number;
  rssBytes: number;
  readBytesPerS: number;
  writeBytesPerS: number;
  netRxBytesPerS: number;
  netTxBytesPerS: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Indices of the kept items. Top-N ignores zero values: "top 10 by network" among idle processes means nothing. */
export function selectKept(items: readonly SelectionMetrics[], topN: number, t: SelectionThresholds): Set<number> {
  const kept = new Set<number>();
  items.forEach((p, i) => {
    if (
      p.cpuPct >= t.process_cpu_pct ||
      p.rssBytes >= t.process_mem_gib * GiB ||
      p.readBytesPerS >= t.disk_io_mib_s * MiB ||
      p.writeBytesPerS >= t.disk_io_mib_s * MiB ||
      p.netRxBytesPerS >= t.net_mib_s * MiB ||
      p.netTxBytesPerS >= t.net_mib_s * MiB
    ) {
      kept.add(i);
    }
  });
  if (topN > 0) {
    const metrics: ((p: SelectionMetrics) => number)[] = [
      (p) => p.cpuPct,
      (p) => p.rssBytes,
      (p) => p.readBytesPerS + p.writeBytesPerS,
      (p) => p.netRxBytesPerS + p.netTxBytesPerS,
    ];
    for (const metric of metrics) {
      for (const i of topIndices(items, metric, topN)) kept.add(i);
    }
  }
  return kept;
}

/** The n largest positive values; ties broken by index so the choice is deterministic. */
function topIndices(items: readonly SelectionMetrics[], metric: (p: SelectionMetrics) => number, n: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < items.length; i++) if (metric(items[i]!) > 0) idx.push(i);
  idx.sort((a, b) => metric(items[b]!) - metric(items[a]!) || a - b);
  return idx.slice(0, n);
}

/** Sums of the processes not kept. */
export function restOf(items: readonly SelectionMetrics[], kept: Set<number>): RestRecord {
  const rest: RestRecord = { count: 0, cpu_pct: 0, rss_bytes: 0, read_bytes_per_s: 0, write_bytes_per_s: 0, net_rx_bytes_per_s: 0, net_tx_bytes_per_s: 0 };
  items.forEach((p, i) => {
    if (kept.has(i)) return;
    rest.count++;
    rest.cpu_pct += p.cpuPct;
    rest.rss_bytes += p.rssBytes;
    rest.read_bytes_per_s += p.readBytesPerS;
    rest.write_bytes_per_s += p.writeBytesPerS;
    rest.net_rx_bytes_per_s += p.netRxBytesPerS;
    rest.net_tx_bytes_per_s += p.netTxBytesPerS;
  });
  return rest;
}
