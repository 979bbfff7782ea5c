// The state of every enrolled host with the figures of its latest report: what `pmon status` prints
// and what GET /v1/hosts returns. Reads tb_monitor_host_config plus the rows of each host's newest
// sample (every table of one report shares its a_time).
import { HOST_STATES, type HostState, type HostStatus } from "../protocol/api.ts";
import type { Db } from "./db.ts";
import { fromSqlTime } from "./db.ts";
import { isHeld } from "./legacy.ts";
import { fromTimeValue, timeCol, timeParam } from "./series-time.ts";

export interface HostStatusOptions {
  /** a running host without a report for this long is silent (alerts.silent_after_s) */
  silentAfterMs?: number;
}

const DEFAULT_SILENT_AFTER_MS = 120_000;

/** How far before its host row the old tool's process rows of the same report may be stamped. */
const OLD_PROCESS_SKEW_MS = 60_000;

interface ConfigRow {
  rshost: string;
  istate: number;
  agent_version: string | null;
  last_report_at: number | string | null;
  clock_skew_ms: number | string | null;
  deploy_error: string | null;
  created_at: string | null;
  next_deploy_at: number | string | null;
  /** the newest host sample's time as timeCol holds it */
  latest: string | number | null;
}

/** The state name for the legacy istate, the deploy error and the report age. */
function hostState(row: { istate: number; deploy_error: string | null; held?: boolean }, sinceLastMs: number | null, silentAfterMs: number): HostState {
  if (row.istate === -1) return "removed";
  if (row.held) return "waiting";
  if (row.deploy_error) return "failed";
  if (row.istate === 0) return "removing";
  if (row.istate === 2) return sinceLastMs !== null && sinceLastMs > silentAfterMs ? "silent" : "running";
  return "pending";
}

/** How many enrolled hosts are in each state (for /metrics): host_config alone, no report is read. */
export async function hostStateCounts(db: Db, nowMs: number, silentAfterMs = DEFAULT_SILENT_AFTER_MS): Promise<Record<HostState, number>> {
  const counts = Object.fromEntries(HOST_STATES.map((s) => [s, 0])) as Record<HostState, number>;
  const rows = await db.query<{ istate: number; deploy_error: string | null; last_report_at: number | string | null; created_at: string | null; next_deploy_at: number | string | null }>(
    "SELECT istate, deploy_error, last_report_at, created_at, next_deploy_at FROM tb_monitor_host_config",
  );
  for (const r of rows) {
    const since = silenceReference(num(r.last_report_at), r.created_at);
    counts[hostState({ istate: Number(r.istate), deploy_error: r.deploy_error, held: isHeld(r) }, since === null ? null : nowMs - since, silentAfterMs)]++;
  }
  return counts;
}

/** The time a host's silence counts from: its last report, or when it was enrolled if it never reported. */
function silenceReference(lastReportMs: number | null, createdAt: string | null): number | null {
  return lastReportMs ?? (createdAt && !createdAt.startsWith("2022-01-01") ? fromSqlTime(createdAt) : null);
}

/** A number from a column or JSON key; null when absent or not a number. */
export const num = (v: unknown): number | null => {
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

/** JSON columns come back parsed from MySQL's json type and as text from MariaDB and SQLite. */
export function jsonObject(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v === "string") {
    try {
      const parsed = JSON.parse(v);
      return typeof parsed === "object" && parsed !== null ? parsed : {};
    } catch {
      return {};
    }
  }
  return typeof v === "object" ? (v as Record<string, unknown>) : {};
}

const KiB = 1024;

export async function hostStatuses(db: Db, nowMs: number, opts: HostStatusOptions = {}): Promise<HostStatus[]> {
  const silentAfterMs = opts.silentAfterMs ?? DEFAULT_SILENT_AFTER_MS;
  // The newest sample of each host: one backward seek per host on (rshost, time). (A correlated
  // MAX(a_time) here reads every index entry of the host on MariaDB: 0.5 s for 100 hosts x 3 days.)
  const it = timeCol(db, "i.");
  const hosts = await db.query<ConfigRow>(
    `SELECT c.rshost, c.istate, c.agent_version, c.last_report_at, c.clock_skew_ms, c.deploy_error, c.created_at, c.next_deploy_at,
            (SELECT ${it} FROM tb_monitor_host_info i WHERE i.rshost = c.rshost ORDER BY ${it} DESC LIMIT 1) AS latest
       FROM tb_monitor_host_config c
      ORDER BY c.rshost`,
  );
  const sampled = hosts.filter((h) => h.latest !== null);
  // (rshost = ? AND time = ?) pairs select exactly the rows of each host's newest report.
  const pairsOf = (alias: string) => sampled.map(() => `(${alias}rshost = ? AND ${timeCol(db, alias)} = ?)`).join(" OR ");
  const pairs = pairsOf("");
  const pairParams = sampled.flatMap((h) => [h.rshost, h.latest]);
  const [infoRows, diskRows, procRows] = sampled.length
    ? await Promise.all([
        db.query<{ id: number; rshost: string; cpu_info: unknown; mem_info: unknown; net: unknown }>(
          `SELECT id, rshost, cpu_info, mem_info, net FROM tb_monitor_host_info WHERE ${pairs} ORDER BY id`,
          pairParams,
        ),
        db.query<{ rshost: string; part: string; mount: string; total_bytes: number; used_bytes: number; free_bytes: number }>(
          `SELECT rshost, part, mount, total_bytes, used_bytes, free_bytes FROM tb_monitor_disk_info WHERE ${pairs}`,
          pairParams,
        ),
        db.query<{ rshost: string; pid: number; instance: string; cpu: number; comm: string | null }>(
          `SELECT p.rshost, p.pid, p.instance, p.cpu, i.comm
             FROM tb_monitor_process_io_info p LEFT JOIN tb_monitor_process_info i ON i.md5_str = p.md5_str
            WHERE ${pairsOf("p.")}
            ORDER BY p.cpu DESC, p.pid`,
          pairParams,
        ),
      ])
    : [[], [], []];

  const info = new Map(infoRows.map((r) => [r.rshost, r])); // ordered by id: the last report of that second wins
  const fullest = new Map<string, { pct: number; mount: string }>();
  for (const d of diskRows) {
    const used = Number(d.used_bytes);
    const size = used + Number(d.free_bytes) || Number(d.total_bytes); // df's Use%: used / (used + available)
    if (!(size > 0)) continue;
    const pct = (used / size) * 100;
    const seen = fullest.get(d.rshost);
    if (!seen || pct > seen.pct) fullest.set(d.rshost, { pct, mount: d.mount || d.part });
  }
  const topProc = new Map<string, (typeof procRows)[number]>();
  for (const p of procRows) if (!topProc.has(p.rshost)) topProc.set(p.rshost, p);
  // The old tool stamped process rows with its process collector's clock, seconds before the host row.
  for (const h of sampled.filter((x) => !topProc.has(x.rshost))) {
    const upTo = fromTimeValue(h.latest!);
    const tc = timeCol(db);
    const [p] = await db.query<(typeof procRows)[number]>(
      `SELECT p.rshost, p.pid, p.instance, p.cpu, i.comm
         FROM tb_monitor_process_io_info p LEFT JOIN tb_monitor_process_info i ON i.md5_str = p.md5_str
        WHERE p.rshost = ? AND ${timeCol(db, "p.")} = (SELECT MAX(${tc}) FROM tb_monitor_process_io_info WHERE rshost = ? AND ${tc} <= ? AND ${tc} >= ?)
        ORDER BY p.cpu DESC, p.pid LIMIT 1`,
      [h.rshost, h.rshost, h.latest, timeParam(db, upTo - OLD_PROCESS_SKEW_MS)],
    );
    if (p) topProc.set(h.rshost, p);
  }

  return hosts.map((h): HostStatus => {
    const lastReport = num(h.last_report_at) ?? (h.latest !== null ? fromTimeValue(h.latest) : null);
    const since = silenceReference(lastReport, h.created_at);
    const row = info.get(h.rshost);
    const cpu = jsonObject(row?.cpu_info);
    const mem = jsonObject(row?.mem_info);
    const net = jsonObject(row?.net);
    const idle = num(cpu.id);
    const memTotal = num(mem.total);
    const memUsed = num(mem.used);
    const rxKb = num(net.receive);
    const txKb = num(net.send);
    const fs = fullest.get(h.rshost);
    const top = topProc.get(h.rshost);
    return {
      host: h.rshost,
      state: hostState({ istate: Number(h.istate), deploy_error: h.deploy_error, held: isHeld(h) }, since === null ? null : nowMs - since, silentAfterMs),
      istate: Number(h.istate),
      agent_version: h.agent_version || null,
      last_report_at: lastReport,
      age_ms: lastReport === null ? null : Math.max(0, nowMs - lastReport),
      clock_skew_ms: num(h.clock_skew_ms),
      deploy_error: h.deploy_error || null,
      cpu_pct: idle === null ? null : Math.max(0, Math.min(100, 100 - idle)),
      load1: num(cpu.load),
      mem_used_pct: memTotal && memUsed !== null ? (memUsed / memTotal) * 100 : null,
      fs_max_pct: fs?.pct ?? null,
      fs_max_mount: fs?.mount ?? null,
      net_rx_bytes_per_s: rxKb === null ? null : rxKb * KiB,
      net_tx_bytes_per_s: txKb === null ? null : txKb * KiB,
      top_process: top ? { pid: Number(top.pid), comm: top.comm ?? "", instance: top.instance ?? "", cpu_pct: Number(top.cpu) } : null,
    };
  });
}
