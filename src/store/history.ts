// Time travel for `pmon top`: which processes used the most at a moment or over a range, on one host
// or the whole fleet. Shares are honest because the rest record holds everything not kept:
// share = value / (sum of the kept processes + rest) of the same host and sample(s).
//
// Index use (both on tb_monitor_*_info (rshost, time), which every time-series table has; the time
// column is a_time on MySQL and the integer t on SQLite, see series-time.ts):
//  - "the sample at or before T" is one MAX(time) lookup per host on tb_monitor_host_info;
//  - the rows of those samples are fetched by (rshost = ? AND time = ?) pairs: one index range each.
import type { TopBy, TopResult, TopRow } from "../protocol/top.ts";
import type { Db } from "./db.ts";
import { fromTimeValue, timeCol, timeParam } from "./series-time.ts";

export interface TopQuery {
  by: TopBy;
  limit: number;
  /** one host, or the whole fleet */
  host?: string;
}

/** How far back "the sample at or before T" may be: older means the host was not reporting at T. */
export const DEFAULT_LOOKBACK_MS = 10 * 60_000;

// The measured value in the units of TopRow.value; io and net are stored in KB/s (legacy units).
const VALUE_SQL: Record<TopBy, (t: string) => string> = {
  cpu: (t) => `${t}cpu`,
  mem: (t) => `${t}rss_bytes`,
  io: (t) => `(${t}io_r + ${t}io_w) * 1024`,
  net: (t) => `(${t}net_in + ${t}net_out) * 1024`,
};

// Each host's newest sample in [notBefore, upTo]. MySQL/MariaDB answer
// the GROUP BY with a loose index scan ("Using index for group-by": one dive per host, ~2 ms for 100
// hosts, hosts whose config row was deleted included); SQLite has no such scan, so there it is one
// backward index seek per host of tb_monitor_host_config.
const LATEST_PER_HOST: Record<Db["dialect"], string> = {
  mysql: "SELECT rshost, MAX(a_time) AS t FROM tb_monitor_host_info WHERE a_time <= ? AND a_time >= ? GROUP BY rshost",
  sqlite: `SELECT c.rshost,
                  (SELECT i.t FROM tb_monitor_host_info i WHERE i.rshost = c.rshost AND i.t <= ? AND i.t >= ?
                    ORDER BY i.t DESC LIMIT 1) AS t
             FROM tb_monitor_host_config c`,
};

/**
 * The value of a kept process row. The old tool's rows (migrated, start_time 0: it had no start time)
 * never measured per-process network: NULL there, not 0. Its memory is the whole GB it stored.
 */
function processValue(by: TopBy, t: string): string {
  return by === "net" ? `CASE WHEN ${t}start_time = 0 THEN NULL ELSE ${VALUE_SQL.net(t)} END` : VALUE_SQL[by](t);
}

interface ProcRow {
  rshost: string;
  pid: number;
  start_time: number | string;
  instance: string;
  user: string | null;
  md5_str: string;
  /** timeCol's value */
  a_time: string | number;
  value: number | string | null;
  samples?: number | string;
}

/** The heaviest processes of each host's sample at or before `at`. */
export async function topAt(db: Db, q: TopQuery & { at: number; lookbackMs?: number }): Promise<TopResult> {
  const tc = timeCol(db);
  const upTo = timeParam(db, q.at);
  const notBefore = timeParam(db, q.at - (q.lookbackMs ?? DEFAULT_LOOKBACK_MS));
  // t: the sample's time as timeCol holds it, passed back as is to select that sample's rows
  const latest = q.host
    ? await db.query<{ rshost: string; t: string | number | null }>(
        `SELECT ? AS rshost, MAX(${tc}) AS t FROM tb_monitor_host_info WHERE rshost = ? AND ${tc} <= ? AND ${tc} >= ?`,
        [q.host, q.host, upTo, notBefore],
      )
    : await db.query<{ rshost: string; t: string | number | null }>(LATEST_PER_HOST[db.dialect], [upTo, notBefore]);
  const samples = latest.filter((r) => r.t !== null) as { rshost: string; t: string | number }[];
  const result: TopResult = { mode: "at", by: q.by, limit: q.limit, host: q.host, at: q.at, hosts: samples.length, rows: [] };
  if (samples.length === 0) return result;

  const where = (alias: string) => samples.map(() => `(${alias}rshost = ? AND ${timeCol(db, alias)} = ?)`).join(" OR ");
  const params = samples.flatMap((s) => [s.rshost, s.t]);
  const value = VALUE_SQL[q.by];
  // All kept rows of those samples (hosts x kept per sample: small): their sum is the kept part of
  // each host's total, and the heaviest of them are the answer. One index range per host.
  const [kept, rest] = await Promise.all([
    db.query<ProcRow>(
      `SELECT p.rshost, p.pid, p.start_time, p.instance, p.user, p.md5_str, ${timeCol(db, "p.")} AS a_time, ${processValue(q.by, "p.")} AS value
         FROM tb_monitor_process_io_info p
        WHERE ${where("p.")}`,
      params,
    ),
    db.query<{ rshost: string; total: number | string }>(
      `SELECT rshost, SUM(${value("")}) AS total FROM tb_monitor_process_rest_info WHERE ${where("")} GROUP BY rshost`,
      params,
    ),
  ]);
  // The old tool stamped process rows with its process collector's clock, seconds off the host row:
  // a host sample with neither kept nor rest rows takes the newest process rows of the same window.
  const seen = new Set([...kept.map((r) => r.rshost), ...rest.map((r) => r.rshost)]);
  for (const s of samples.filter((x) => !seen.has(x.rshost))) {
    const [p] = await db.query<{ t: string | number | null }>(`SELECT MAX(${tc}) AS t FROM tb_monitor_process_io_info WHERE rshost = ? AND ${tc} <= ? AND ${tc} >= ?`, [s.rshost, upTo, notBefore]);
    if (!p?.t) continue;
    kept.push(
      ...(await db.query<ProcRow>(
        `SELECT p.rshost, p.pid, p.start_time, p.instance, p.user, p.md5_str, ${timeCol(db, "p.")} AS a_time, ${processValue(q.by, "p.")} AS value
           FROM tb_monitor_process_io_info p WHERE p.rshost = ? AND ${timeCol(db, "p.")} = ?`,
        [s.rshost, p.t],
      )),
    );
  }
  const totals = hostTotals(
    kept.map((r) => ({ rshost: r.rshost, total: r.value })),
    rest,
  );
  const top = kept
    .map((r) => ({ ...r, value: r.value === null ? null : Number(r.value) }))
    .sort((a, b) => (b.value ?? -1) - (a.value ?? -1) || (a.rshost < b.rshost ? -1 : a.rshost > b.rshost ? 1 : 0) || Number(a.pid) - Number(b.pid))
    .slice(0, q.limit);
  const names = await commandNames(db, top.map((r) => r.md5_str));
  result.rows = top.map((r) => toRow(r, names, totals, 1, 1));
  return result;
}

/** The heaviest processes over [from, to]: per process identity, the average over its host's samples. */
export async function topRange(db: Db, q: TopQuery & { from: number; to: number }): Promise<TopResult> {
  const from = timeParam(db, q.from);
  const to = timeParam(db, q.to);
  const tc = timeCol(db);
  const hostFilter = q.host ? " AND rshost = ?" : "";
  const hostParam = q.host ? [q.host] : [];
  const value = VALUE_SQL[q.by];
  const hostSamples = await db.query<{ rshost: string; n: number | string }>(
    `SELECT rshost, COUNT(*) AS n FROM tb_monitor_host_info WHERE ${tc} >= ? AND ${tc} <= ?${hostFilter} GROUP BY rshost`,
    [from, to, ...hostParam],
  );
  const result: TopResult = { mode: "range", by: q.by, limit: q.limit, host: q.host, from: q.from, to: q.to, hosts: hostSamples.length, rows: [] };
  if (hostSamples.length === 0) return result;

  // A process missing from a sample was below the thresholds there, i.e. inside `rest`: it counts as 0
  // in its average, and the host total (kept + rest) still contains it.
  const [top, kept, rest] = await Promise.all([
    db.query<ProcRow>(
      `SELECT p.rshost, p.pid, p.start_time, MAX(p.instance) AS instance, MAX(p.user) AS user, MAX(p.md5_str) AS md5_str, MAX(${timeCol(db, "p.")}) AS a_time,
              SUM(${processValue(q.by, "p.")}) / MAX(h.n) AS value, COUNT(*) AS samples
         FROM tb_monitor_process_io_info p
         JOIN (SELECT rshost, COUNT(*) AS n FROM tb_monitor_host_info WHERE ${tc} >= ? AND ${tc} <= ?${hostFilter} GROUP BY rshost) h
           ON h.rshost = p.rshost
        WHERE ${timeCol(db, "p.")} >= ? AND ${timeCol(db, "p.")} <= ?${q.host ? " AND p.rshost = ?" : ""}
        GROUP BY p.rshost, p.pid, p.start_time
        ORDER BY value DESC, p.rshost, p.pid
        LIMIT ?`,
      [from, to, ...hostParam, from, to, ...hostParam, q.limit],
    ),
    db.query<{ rshost: string; total: number | string }>(
      `SELECT rshost, SUM(${processValue(q.by, "")}) AS total FROM tb_monitor_process_io_info WHERE ${tc} >= ? AND ${tc} <= ?${hostFilter} GROUP BY rshost`,
      [from, to, ...hostParam],
    ),
    db.query<{ rshost: string; total: number | string }>(
      `SELECT rshost, SUM(${value("")}) AS total FROM tb_monitor_process_rest_info WHERE ${tc} >= ? AND ${tc} <= ?${hostFilter} GROUP BY rshost`,
      [from, to, ...hostParam],
    ),
  ]);
  const counts = new Map(hostSamples.map((h) => [h.rshost, Number(h.n)]));
  // Range totals are sums over samples; turn them into per-sample averages like the values.
  const totals = hostTotals(kept, rest);
  for (const [h, t] of totals) totals.set(h, t / (counts.get(h) ?? 1));
  const names = await commandNames(db, top.map((r) => r.md5_str));
  result.rows = top.map((r) => toRow(r, names, totals, Number(r.samples), counts.get(r.rshost) ?? 0));
  return result;
}

function hostTotals(...parts: { rshost: string; total: number | string | null }[][]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const part of parts) for (const r of part) totals.set(r.rshost, (totals.get(r.rshost) ?? 0) + Number(r.total ?? 0));
  return totals;
}

/** comm and command line of each md5 (the command-line dictionary). */
export async function commandNames(db: Db, md5s: string[]): Promise<Map<string, { comm: string; cmdline: string }>> {
  const unique = [...new Set(md5s.filter(Boolean))];
  if (unique.length === 0) return new Map();
  const rows = await db.query<{ md5_str: string; comm: string | null; remarks: string | null }>(
    `SELECT md5_str, comm, remarks FROM tb_monitor_process_info WHERE md5_str IN (${unique.map(() => "?").join(",")})`,
    unique,
  );
  return new Map(rows.map((r) => [r.md5_str, { comm: r.comm ?? "", cmdline: r.remarks ?? "" }]));
}

function toRow(r: ProcRow, names: Map<string, { comm: string; cmdline: string }>, totals: Map<string, number>, samples: number, hostSamples: number): TopRow {
  const value = r.value === null ? null : Number(r.value);
  const total = totals.get(r.rshost) ?? 0;
  const name = names.get(r.md5_str);
  const legacy = Number(r.start_time) === 0;
  return {
    host: r.rshost,
    pid: Number(r.pid),
    start_time: legacy ? null : Number(r.start_time),
    instance: r.instance ?? "",
    user: r.user ?? "",
    comm: name?.comm ?? "",
    cmdline: name?.cmdline ?? "",
    value,
    share: !legacy && value !== null && total > 0 ? Math.min(1, value / total) : null,
    sample_time: fromTimeValue(r.a_time),
    samples,
    host_samples: hostSamples,
  };
}
