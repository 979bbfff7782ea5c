// A tiny Prometheus text-format registry: counters and gauges with labels, and one summary for store latency.

import { renderAlertMetrics } from "../alerts/metrics.ts";
import { renderFleetMetrics } from "../fleet/metrics.ts";
import { renderProcessMetrics } from "./process-metrics.ts";

type Labels = Record<string, string>;

function key(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

class Family {
  readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge",
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(value: number, labels: Labels = {}): void {
    this.values.set(key(labels), value);
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
    if (this.values.size === 0 && this.type === "gauge") lines.push(`${this.name} 0`);
    return lines.join("\n");
  }
}

/** Store write latency as a histogram with fixed buckets (seconds). */
class Histogram {
  private readonly buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  private readonly counts = this.buckets.map(() => 0);
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (seconds <= b) this.counts[i]!++;
    });
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join("\n");
  }
}

export interface ServerMetrics {
  accepted: Family;
  rejected: Family;
  duplicates: Family;
  replays: Family;
  rows: Family;
  batches: Family;
  storeLatency: Histogram;
  queueDepth: Family;
  clockSkewAgents: Family;
  hosts: Family;
  render(): string;
}

export function createMetrics(): ServerMetrics {
  const m = {
    accepted: new Family("pmon_reports_accepted_total", "Reports stored (or recognised as already stored)", "counter"),
    rejected: new Family("pmon_reports_rejected_total", "Reports refused, by reason", "counter"),
    duplicates: new Family("pmon_reports_duplicate_total", "Accepted reports whose id was already stored", "counter"),
    replays: new Family("pmon_spool_replays_total", "Accepted reports that came from an agent's spool (X-Pmon-Replay: 1)", "counter"),
    rows: new Family("pmon_rows_written_total", "Rows written to the store, all tables together", "counter"),
    batches: new Family("pmon_store_batches_total", "writeReports calls, by outcome", "counter"),
    storeLatency: new Histogram("pmon_store_write_seconds", "Duration of one writeReports batch"),
    queueDepth: new Family("pmon_ingest_queue_depth", "Reports waiting to be written", "gauge"),
    clockSkewAgents: new Family("pmon_agents_clock_skewed", "Hosts whose clock differs from the server's by more than server.clock_warn_s", "gauge"),
    hosts: new Family("pmon_hosts", "Enrolled hosts by state, as pmon status shows them", "gauge"),
  };
  return {
    ...m,
    render: () => Object.values(m).map((f) => f.render()).join("\n") + "\n" + renderAlertMetrics() + renderFleetMetrics() + renderProcessMetrics(),
  };
}
