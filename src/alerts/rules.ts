// Pure rule evaluation: what the silent-host state machine does next, and which saturation
// conditions a report shows. No I/O here; loop.ts and saturation.ts apply the decisions.
import type { ProcessRecord, Report } from "../protocol/report.ts";
import type { Culprit, SaturationWhat } from "./messages.ts";

// ---------- silent host ----------

export interface SilentInput {
  /** server clock of the host's last report; null = never reported */
  lastReportAt: number | null;
  now: number;
  silentAfterMs: number;
  repeatEveryMs: number;
  maxRepeats: number;
  /** the host's alert row, when one exists */
  alert?: { open: boolean; sent: number; since: number | null; lastAlertAt: number | null };
}

export type SilentAction =
  | { type: "none" }
  | { type: "open"; since: number }
  | { type: "repeat"; fromSent: number; since: number }
  | { type: "resolve"; fromSent: number; since: number; until: number };

export function decideSilent(i: SilentInput): SilentAction {
  const open = i.alert?.open === true;
  // A host that never reported is the deploy manager's business (it has its own alert).
  const silent = i.lastReportAt !== null && i.now - i.lastReportAt >= i.silentAfterMs;
  if (silent && !open) return { type: "open", since: i.lastReportAt! };
  if (silent && open) {
    const a = i.alert!;
    const since = a.since ?? i.lastReportAt!;
    if (a.sent >= i.maxRepeats) return { type: "none" };
    if (a.lastAlertAt === null || i.now - a.lastAlertAt >= i.repeatEveryMs) return { type: "repeat", fromSent: a.sent, since };
    return { type: "none" };
  }
  if (!silent && open) {
    const a = i.alert!;
    // Recovery always, whatever the count: the old system only recovered after the first alert.
    return { type: "resolve", fromSent: a.sent, since: a.since ?? i.now, until: i.lastReportAt ?? i.now };
  }
  return { type: "none" };
}

// ---------- saturated host ----------

export interface SaturationThresholds {
  cpu_pct: number;
  cpu_for_s: number;
  mem_pct: number;
  mem_for_s: number;
  fs_pct: number;
  util_pct: number;
  util_for_s: number;
}

export interface Condition {
  /** the alert kind: cpu | mem | fs:<mount> | util:<dev> */
  kind: string;
  what: SaturationWhat;
  /** mount or device, for fs and util */
  target?: string;
  over: boolean;
  value_pct: number;
  threshold_pct: number;
  /** how long it must hold before alerting */
  for_ms: number;
  culprits: Culprit[];
}

const MAX_CULPRITS = 3;

/** "mysqld --port=3307": the command plus what tells the instance apart; else the start of the command line. */
export function processLabel(p: ProcessRecord): string {
  if (p.instance) return `${p.comm} ${p.instance}`;
  const cmd = p.cmdline.trim() || p.comm;
  return cmd.length > 60 ? cmd.slice(0, 57) + "..." : cmd;
}

function topBy(processes: readonly ProcessRecord[], value: (p: ProcessRecord) => number, total: number): Culprit[] {
  if (!(total > 0)) return [];
  return processes
    .map((p) => ({ p, v: value(p) }))
    .filter((x) => x.v > 0)
    .sort((a, b) => b.v - a.v)
    .slice(0, MAX_CULPRITS)
    .map((x) => ({ pid: x.p.pid, label: processLabel(x.p), share_pct: (x.v / total) * 100 }))
    .filter((c) => c.share_pct >= 0.5);
}

/** Every condition the report can say something about, over or not (so recoveries can be seen). */
export function saturationConditions(r: Report, t: SaturationThresholds): Condition[] {
  const out: Condition[] = [];
  const cpu = r.system.cpu;
  // iowait is idle time spent waiting: not CPU work, so it does not count as busy.
  const busy = Math.max(0, 100 - cpu.idle_pct - cpu.iowait_pct);
  out.push({
    kind: "cpu",
    what: "cpu",
    over: busy >= t.cpu_pct,
    value_pct: busy,
    threshold_pct: t.cpu_pct,
    for_ms: t.cpu_for_s * 1000,
    // process cpu_pct is per core (100 = one core); share of the host is per all cores
    culprits: topBy(r.processes, (p) => p.cpu_pct, cpu.count * 100),
  });

  const mem = r.system.memory;
  if (mem.total_bytes > 0) {
    const used = (mem.used_bytes / mem.total_bytes) * 100;
    out.push({
      kind: "mem",
      what: "mem",
      over: used >= t.mem_pct,
      value_pct: used,
      threshold_pct: t.mem_pct,
      for_ms: t.mem_for_s * 1000,
      culprits: topBy(r.processes, (p) => p.rss_bytes, mem.total_bytes),
    });
  }

  const writes = (p: ProcessRecord) => p.write_bytes_per_s;
  const totalWrites = r.processes.reduce((n, p) => n + p.write_bytes_per_s, 0) + r.rest.write_bytes_per_s;
  for (const fs of r.system.filesystems) {
    // df's Use%: used / (used + available to users); root's reserve is not free for them
    const denom = fs.used_bytes + fs.free_bytes;
    if (denom <= 0) continue;
    const full = (fs.used_bytes / denom) * 100;
    out.push({
      kind: `fs:${fs.mount}`,
      what: "fs",
      target: fs.mount,
      over: full >= t.fs_pct,
      value_pct: full,
      threshold_pct: t.fs_pct,
      for_ms: 0,
      culprits: topBy(r.processes, writes, totalWrites),
    });
  }

  const io = (p: ProcessRecord) => p.read_bytes_per_s + p.write_bytes_per_s;
  const totalIo = r.processes.reduce((n, p) => n + io(p), 0) + r.rest.read_bytes_per_s + r.rest.write_bytes_per_s;
  for (const d of r.system.disks) {
    out.push({
      kind: `util:${d.device}`,
      what: "util",
      target: d.device,
      over: d.util_pct >= t.util_pct,
      value_pct: Math.min(100, d.util_pct),
      threshold_pct: t.util_pct,
      for_ms: t.util_for_s * 1000,
      culprits: topBy(r.processes, io, totalIo),
    });
  }
  return out;
}
