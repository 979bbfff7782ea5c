// Turning reports into rows of the legacy tables (legacy units and JSON keys) and writing a batch of
// them: one multi-row parameterised INSERT per table per batch, all inside one transaction, so a
// report is either fully stored or not at all. The same (host, report id) is stored once.
import { createHash } from "node:crypto";
import type { Report } from "../protocol/report.ts";
import { checkRows } from "./columns.ts";
import { IdCounterBehind, idCounterBehind, resyncIdCounter } from "./id-counter.ts";
import { sqlTime, valuesPlaceholders, type Db } from "./db.ts";
import { MAX_STORED_INTERFACES, OTHER_INTERFACES } from "./interfaces.ts";
import { SQLITE_STORED } from "./schema.ts";

export type WriteOutcome = "stored" | "duplicate";

export interface WriteItem {
  report: Report;
  /** server clock when the report arrived, epoch ms */
  receivedAt: number;
}

export interface WriteOptions {
  /** disk_util_qu rows are written for devices at or over either threshold (thresholds.disk_util_pct / disk_avgqu) */
  diskUtilPct?: number;
  diskAvgqu?: number;
  /** a host clock skew within this is treated as transit time and ignored (server.clock_warn_s) */
  clockAllowanceMs?: number;
}

const KB = 1024;
const GB = 1024 ** 3;
const DEFAULTS = { diskUtilPct: 50, diskAvgqu: 5, clockAllowanceMs: 30_000 };
/** placeholders per statement: below SQLite's 32766 and MySQL's 65535 */
const MAX_PARAMS = 30_000;

/** One table's rows for a batch. */
interface TableRows {
  table: string;
  columns: readonly string[];
  rows: unknown[][];
}

/** The rows a batch of reports becomes, table by table (exported for tests and the raw-insert benchmark). */
export interface ReportRows {
  host_info: unknown[][];
  disk_info: unknown[][];
  disk_util_qu_info: unknown[][];
  port_net_info: unknown[][];
  process_info: unknown[][];
  process_io_info: unknown[][];
  process_rest_info: unknown[][];
  listen_port_info: unknown[][];
  net_unattributed_info: unknown[][];
}

export const COLUMNS: { [K in keyof ReportRows]: readonly string[] } = {
  host_info: ["rshost", "cpu_info", "mem_info", "io_info", "net", "a_time"],
  disk_info: ["rshost", "part", "disk_info", "mount", "fstype", "total_bytes", "used_bytes", "free_bytes", "a_time"],
  disk_util_qu_info: ["rshost", "dev", "avgqu", "util", "read_kbs", "write_kbs", "a_time"],
  port_net_info: ["rshost", "pid", "rsinfo", "remote", "in_info", "out_info", "a_time"],
  process_info: ["md5_str", "remarks", "comm", "a_time"],
  process_io_info: ["rshost", "pid", "start_time", "ppid", "user", "instance", "cpu", "rss_bytes", "io_r", "io_w", "net_in", "net_out", "threads", "a_time", "md5", "exited"],
  process_rest_info: ["rshost", "count", "cpu", "rss_bytes", "io_r", "io_w", "net_in", "net_out", "a_time"],
  listen_port_info: ["rshost", "port", "pid", "connections", "in_info", "out_info", "a_time"],
  net_unattributed_info: ["rshost", "iface", "in_info", "out_info", "a_time"],
};

/** The report field each column's value comes from, for refusals that name the field (see columns.ts). */
const FIELDS: { [K in keyof ReportRows | "report_seen"]: [list: string, columns: Record<string, string>] } = {
  host_info: ["system", {}],
  disk_info: ["system.filesystems[]", { part: "device", disk_info: "total_bytes", total_bytes: "total_bytes", used_bytes: "used_bytes", free_bytes: "free_bytes" }],
  disk_util_qu_info: ["system.disks[]", { dev: "device", avgqu: "avgqu", util: "util_pct", read_kbs: "read_bytes_per_s", write_kbs: "write_bytes_per_s" }],
  port_net_info: ["connections[]", { rsinfo: "local", in_info: "rx_bytes_per_s", out_info: "tx_bytes_per_s" }],
  process_info: ["processes[]", { remarks: "cmdline" }],
  process_io_info: ["processes[]", { cpu: "cpu_pct", io_r: "read_bytes_per_s", io_w: "write_bytes_per_s", net_in: "net_rx_bytes_per_s", net_out: "net_tx_bytes_per_s", md5: "cmdline" }],
  process_rest_info: ["rest", { cpu: "cpu_pct", io_r: "read_bytes_per_s", io_w: "write_bytes_per_s", net_in: "net_rx_bytes_per_s", net_out: "net_tx_bytes_per_s" }],
  listen_port_info: ["listen_ports[]", { in_info: "rx_bytes_per_s", out_info: "tx_bytes_per_s" }],
  net_unattributed_info: ["unattributed[]", { iface: "interface", in_info: "rx_bytes_per_s", out_info: "tx_bytes_per_s" }],
  report_seen: ["report", { report_id: "id" }],
};

function fieldOf(key: keyof typeof FIELDS): (column: string) => string {
  const [list, columns] = FIELDS[key];
  return (column) => (column === "rshost" ? "host" : column === "a_time" ? "time" : `${list}.${columns[column] ?? column}`);
}

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};
const gb = (bytes: number) => round(bytes / GB, 3);
const kbs = (bytesPerS: number) => round(bytesPerS / KB, 2);

/** Text as the database can store it: a lone UTF-16 surrogate (from a broken /proc string) would make MySQL reject the row. */
const txt = (s: string) => s.toWellFormed();

/** The command line as the legacy `remarks` (whitespace collapsed); kernel threads get "[comm]". */
function processRemarks(p: { cmdline: string; comm: string }): string {
  const cmd = txt(p.cmdline).replace(/\s+/g, " ").trim();
  return cmd || `[${txt(p.comm)}]`;
}

export function md5Hex(s: string): string {
  return createHash("md5").update(s).digest("hex");
}

/** Whole devices only: "sda1" is dropped when "sda" is listed too, so totals do not count twice. */
export function wholeDisks<T extends { device: string }>(disks: readonly T[]): T[] {
  const names = new Set(disks.map((d) => d.device));
  return disks.filter((d) => {
    for (let cut = d.device.length - 1; cut > 0; cut--) {
      const parent = d.device.slice(0, cut);
      if (names.has(parent) && /^p?\d+$/.test(d.device.slice(cut))) return false;
    }
    return true;
  });
}

/** The legacy host_info JSON documents (units: GB, KB/s, Mb/s, %), with pmon's extra keys beside. */
export function hostJson(r: Report) {
  const { cpu, memory } = r.system;
  const cpu_info = {
    total: cpu.count,
    load: round(cpu.load1, 2),
    id: round(cpu.idle_pct, 2),
    wa: round(cpu.iowait_pct, 2),
    load5: round(cpu.load5, 2),
    load15: round(cpu.load15, 2),
    us: round(cpu.user_pct, 2),
    sy: round(cpu.system_pct, 2),
    st: round(cpu.steal_pct, 2),
  };
  const mem_info = {
    total: gb(memory.total_bytes),
    used: gb(memory.used_bytes),
    // legacy free = total - used (not the kernel's MemFree)
    free: gb(Math.max(0, memory.total_bytes - memory.used_bytes)),
    available: gb(memory.available_bytes),
    swap_total: gb(memory.swap_total_bytes),
    swap_used: gb(memory.swap_used_bytes),
  };
  // Total = what processes asked for (iotop's "Total"), Actual = what reached the disks.
  let taskRead = r.rest.read_bytes_per_s;
  let taskWrite = r.rest.write_bytes_per_s;
  for (const p of r.processes) {
    taskRead += p.read_bytes_per_s;
    taskWrite += p.write_bytes_per_s;
  }
  let diskRead = 0;
  let diskWrite = 0;
  for (const d of wholeDisks(r.system.disks)) {
    diskRead += d.read_bytes_per_s;
    diskWrite += d.write_bytes_per_s;
  }
  const io_info = { Total: { read: kbs(taskRead), write: kbs(taskWrite) }, Actual: { read: kbs(diskRead), write: kbs(diskWrite) } };
  let rx = 0;
  let tx = 0;
  let speed = 0;
  for (const i of r.system.interfaces) {
    if (i.name === "lo") continue;
    rx += i.rx_bytes_per_s;
    tx += i.tx_bytes_per_s;
    speed = Math.max(speed, i.speed_mbps ?? 0);
  }
  const net = { speed, send: kbs(tx), receive: kbs(rx), Total: kbs(rx + tx), ifaces: interfaceRates(r.system.interfaces) };
  return { cpu_info, mem_info, io_info, net };
}

/**
 * Per-interface traffic as compact as the host row allows: {"eth0": [receive, send]} in KB/s, lo
 * included. An idle interface is left out (0 where the key exists), and beyond the
 * MAX_STORED_INTERFACES busiest the rest are summed, so a host with hundreds of idle veths stays small.
 */
function interfaceRates(interfaces: Report["system"]["interfaces"]): Record<string, [number, number]> {
  const busy = interfaces
    .map((i) => ({ name: txt(i.name), rx: kbs(i.rx_bytes_per_s), tx: kbs(i.tx_bytes_per_s) }))
    .filter((i) => i.rx > 0 || i.tx > 0)
    .sort((a, b) => b.rx + b.tx - (a.rx + a.tx) || (a.name < b.name ? -1 : 1));
  const out: [string, [number, number]][] = busy.slice(0, MAX_STORED_INTERFACES).map((i) => [i.name, [i.rx, i.tx]]);
  const rest = busy.slice(MAX_STORED_INTERFACES);
  if (rest.length) out.push([OTHER_INTERFACES, [round(rest.reduce((n, i) => n + i.rx, 0), 2), round(rest.reduce((n, i) => n + i.tx, 0), 2)]]);
  // fromEntries defines own keys: an interface called "__proto__" stays a key
  return Object.fromEntries(out);
}

/** All rows of one report at sample time `aTimeMs` (see sampleTime). */
export function reportRows(r: Report, aTimeMs: number, opts: WriteOptions = {}, into?: ReportRows): ReportRows {
  const o = { ...DEFAULTS, ...opts };
  const out: ReportRows = into ?? {
    host_info: [],
    disk_info: [],
    disk_util_qu_info: [],
    port_net_info: [],
    process_info: [],
    process_io_info: [],
    process_rest_info: [],
    listen_port_info: [],
    net_unattributed_info: [],
  };
  const h = r.host;
  const t = sqlTime(aTimeMs);
  const j = hostJson(r);
  out.host_info.push([h, JSON.stringify(j.cpu_info), JSON.stringify(j.mem_info), JSON.stringify(j.io_info), JSON.stringify(j.net), t]);
  for (const f of r.system.filesystems) {
    const disk = { total: gb(f.total_bytes), used: gb(f.used_bytes), free: gb(f.free_bytes) };
    out.disk_info.push([h, txt(f.device), JSON.stringify(disk), txt(f.mount), txt(f.fstype), Math.round(f.total_bytes), Math.round(f.used_bytes), Math.round(f.free_bytes), t]);
  }
  for (const d of r.system.disks) {
    if (d.avgqu < o.diskAvgqu && d.util_pct < o.diskUtilPct) continue;
    out.disk_util_qu_info.push([h, txt(d.device.startsWith("/") ? d.device : `/dev/${d.device}`), round(d.avgqu, 2), round(d.util_pct, 2), kbs(d.read_bytes_per_s), kbs(d.write_bytes_per_s), t]);
  }
  for (const c of r.connections) out.port_net_info.push([h, c.pid, txt(c.local), txt(c.remote), kbs(c.rx_bytes_per_s), kbs(c.tx_bytes_per_s), t]);
  for (const p of r.processes) {
    const remarks = processRemarks(p);
    const md5 = md5Hex(remarks);
    out.process_info.push([md5, remarks, txt(p.comm), t]);
    out.process_io_info.push([
      h,
      p.pid,
      Math.round(p.start_time),
      p.ppid,
      txt(p.user),
      txt(p.instance),
      round(p.cpu_pct, 2),
      Math.round(p.rss_bytes),
      kbs(p.read_bytes_per_s),
      kbs(p.write_bytes_per_s),
      kbs(p.net_rx_bytes_per_s),
      kbs(p.net_tx_bytes_per_s),
      p.threads,
      t,
      // 16 bytes; the table's md5_str is this in hex (schema migration 6)
      Buffer.from(md5, "hex"),
      p.exited ? 1 : 0,
    ]);
  }
  const rest = r.rest;
  out.process_rest_info.push([h, rest.count, round(rest.cpu_pct, 2), Math.round(rest.rss_bytes), kbs(rest.read_bytes_per_s), kbs(rest.write_bytes_per_s), kbs(rest.net_rx_bytes_per_s), kbs(rest.net_tx_bytes_per_s), t]);
  for (const l of r.listen_ports) out.listen_port_info.push([h, l.port, l.pid, l.connections, kbs(l.rx_bytes_per_s), kbs(l.tx_bytes_per_s), t]);
  for (const u of r.unattributed) out.net_unattributed_info.push([h, txt(u.interface), kbs(u.rx_bytes_per_s), kbs(u.tx_bytes_per_s), t]);
  return out;
}

/**
 * a_time: the sample time as the server trusts it. The agent's `time` (end of the sample window),
 * shifted by the host's measured clock skew when that skew exceeds the allowance (small skews are
 * transit time), and never later than the arrival. Spooled reports replayed hours later keep their
 * own sample time this way, which a plain "receive time" would lose.
 */
export function sampleTime(reportTime: number, receivedAt: number, hostSkewMs: number | null | undefined, allowanceMs = DEFAULTS.clockAllowanceMs): number {
  const skew = hostSkewMs ?? 0;
  const corrected = Math.abs(skew) > allowanceMs ? reportTime - skew : reportTime;
  return Math.min(corrected, receivedAt);
}

/** md5 -> the UTC day its dictionary row was last written or touched, per database handle */
const memoMd5 = new WeakMap<Db, Map<string, number>>();
const MD5_MEMO_MAX = 200_000;
/** keys per `IN (...)` list: far below both databases' placeholder limits, and a short statement */
const IN_LIST_CHUNK = 1000;
/** a deadlocked batch waits RETRY_STEP_MS × attempt plus up to RETRY_JITTER_MS, so the two do not collide again */
const RETRY_STEP_MS = 10;
const RETRY_JITTER_MS = 20;
const DEADLOCK_ATTEMPTS = 3;
/** a batch is retried this often after moving a time-series table's id counter (each repair fixes one table) */
const ID_COUNTER_REPAIRS = 3;
const DAY_MS = 86_400_000;

/**
 * Stores a batch atomically: one transaction, one INSERT per table. Returns per item whether it was
 * stored or a duplicate (already stored, or repeated within the batch). Throws when the batch could
 * not be stored (nothing of it is kept); the ingest queue then retries the reports one by one.
 */
export async function writeReports(db: Db, items: readonly WriteItem[], opts: WriteOptions = {}): Promise<WriteOutcome[]> {
  if (items.length === 0) return [];
  const known = memoMd5.get(db) ?? new Map<string, number>();
  const done = await withIdCounterRepair(db, () => withDeadlockRetry(() => db.transaction((tx) => writeBatch(tx, items, opts, known))));
  // Remember dictionary entries only once they are committed.
  if (known.size + done.touched.length > MD5_MEMO_MAX) known.clear();
  for (const m of done.touched) known.set(m, done.day);
  memoMd5.set(db, known);
  return done.outcomes;
}

interface BatchResult {
  outcomes: WriteOutcome[];
  /** dictionary md5s written or refreshed, and the UTC day number they were refreshed for */
  touched: string[];
  day: number;
}

async function writeBatch(tx: Db, items: readonly WriteItem[], opts: WriteOptions, known: ReadonlyMap<string, number>): Promise<BatchResult> {
  const allowance = opts.clockAllowanceMs ?? DEFAULTS.clockAllowanceMs;
  const keyOf = (it: WriteItem) => `${it.report.host}\n${txt(it.report.id)}`;
  const outcomes: WriteOutcome[] = items.map(() => "stored");
  // duplicates inside the batch
  const firstIndex = new Map<string, number>();
  items.forEach((it, i) => {
    if (firstIndex.has(keyOf(it))) outcomes[i] = "duplicate";
    else firstIndex.set(keyOf(it), i);
  });
  // duplicates already stored
  const candidates = items.map((it, i) => ({ it, i })).filter(({ i }) => outcomes[i] === "stored");
  for (const chunk of chunks(candidates, IN_LIST_CHUNK)) {
    const seen = await tx.query<{ rshost: string; report_id: string }>(
      `SELECT rshost, report_id FROM tb_monitor_report_seen WHERE (rshost, report_id) IN (${valuesPlaceholders(chunk.length, 2)})`,
      chunk.flatMap(({ it }) => [it.report.host, txt(it.report.id)]),
    );
    const seenKeys = new Set(seen.map((s) => `${s.rshost}\n${s.report_id}`));
    for (const { it, i } of chunk) if (seenKeys.has(keyOf(it))) outcomes[i] = "duplicate";
  }
  const fresh = items.filter((_, i) => outcomes[i] === "stored");
  if (fresh.length === 0) return { outcomes, touched: [], day: 0 };

  const skews = await hostSkews(tx, [...new Set(fresh.map((it) => it.report.host))]);
  let all: ReportRows | undefined;
  const seenRows: unknown[][] = [];
  for (const it of fresh) {
    const aTime = sampleTime(it.report.time, it.receivedAt, skews.get(it.report.host), allowance);
    all = reportRows(it.report, aTime, opts, all);
    seenRows.push([it.report.host, txt(it.report.id), sqlTime(it.receivedAt)]);
  }
  const rows = all!;
  // Nothing is written unless every value fits its column.
  checkRows("tb_monitor_report_seen", ["rshost", "report_id", "a_time"], seenRows, fieldOf("report_seen"));
  for (const key of Object.keys(COLUMNS) as (keyof ReportRows)[]) checkRows(`tb_monitor_${key}`, COLUMNS[key], rows[key], fieldOf(key));
  // A plain INSERT: if another server stored one of these meanwhile, the duplicate key fails the
  // batch and the one-by-one retry then reports it as a duplicate.
  await insertRows(tx, { table: "tb_monitor_report_seen", columns: ["rshost", "report_id", "a_time"], rows: seenRows });

  // The command-line dictionary: each distinct md5 once, in sorted order (no lock-order deadlocks).
  // Its a_time is "last seen", refreshed at most once a day per command line, so retention can
  // drop command lines no stored row refers to any more.
  const day = Math.floor(fresh.reduce((m, it) => Math.max(m, it.receivedAt), 0) / DAY_MS);
  const dict = new Map<string, unknown[]>();
  for (const row of rows.process_info) {
    const md5 = row[0] as string;
    if (known.get(md5) !== day && !dict.has(md5)) dict.set(md5, row);
  }
  const touched = [...dict.keys()].sort();
  if (touched.length) {
    const lastSeen = sqlTime(day * DAY_MS);
    await insertRows(tx, { table: "tb_monitor_process_info", columns: COLUMNS.process_info, rows: touched.map((k) => [...dict.get(k)!.slice(0, 3), lastSeen]) }, true);
    for (const chunk of chunks(touched, IN_LIST_CHUNK)) {
      await tx.exec(`UPDATE tb_monitor_process_info SET a_time = ? WHERE a_time < ? AND md5_str IN (${chunk.map(() => "?").join(",")})`, [lastSeen, lastSeen, ...chunk]);
    }
  }

  for (const key of Object.keys(COLUMNS) as (keyof ReportRows)[]) {
    if (key === "process_info") continue;
    const table = `tb_monitor_${key}`;
    try {
      await insertRows(tx, { table, columns: COLUMNS[key], rows: rows[key] });
    } catch (e) {
      throw idCounterBehind(table, e) ?? e;
    }
  }
  return { outcomes, touched, day };
}

// InnoDB picks a victim when two batches lock rows in different orders; the batch is simply retried.
const RETRYABLE = new Set([1213 /* ER_LOCK_DEADLOCK */, 1205 /* ER_LOCK_WAIT_TIMEOUT */]);

async function withDeadlockRetry<T>(fn: () => Promise<T>, attempts = DEADLOCK_ATTEMPTS): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !RETRYABLE.has((e as { errno?: number }).errno ?? 0)) throw e;
      await Bun.sleep(RETRY_STEP_MS * i + Math.random() * RETRY_JITTER_MS);
    }
  }
}

// A time-series table whose id counter fell behind its rows (see id-counter.ts) would refuse every
// later report: the batch has rolled back, so the counter is moved past the stored ids and the batch
// written again.
async function withIdCounterRepair<T>(db: Db, fn: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof IdCounterBehind) || i > ID_COUNTER_REPAIRS) throw e;
      await resyncIdCounter(db, e.table);
    }
  }
}

async function hostSkews(db: Db, hosts: string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  for (const chunk of chunks(hosts, IN_LIST_CHUNK)) {
    const rows = await db.query<{ rshost: string; clock_skew_ms: number | null }>(
      `SELECT rshost, clock_skew_ms FROM tb_monitor_host_config WHERE rshost IN (${chunk.map(() => "?").join(",")})`,
      chunk,
    );
    for (const r of rows) out.set(r.rshost, r.clock_skew_ms === null ? null : Number(r.clock_skew_ms));
  }
  return out;
}

/** Multi-row INSERT in as few statements as the placeholder limit allows. */
export async function insertRows(db: Db, t: TableRows, ignoreDuplicates = false): Promise<void> {
  if (t.rows.length === 0) return;
  if (db.dialect === "sqlite") t = sqliteStoredRows(t);
  const verb = ignoreDuplicates ? (db.dialect === "mysql" ? "INSERT IGNORE" : "INSERT OR IGNORE") : "INSERT";
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / t.columns.length));
  for (const chunk of chunks(t.rows, perStatement)) {
    await db.exec(`${verb} INTO ${t.table} (${t.columns.join(", ")}) VALUES ${valuesPlaceholders(chunk.length, t.columns.length)}`, chunk.flat());
  }
}

/** The same rows in the columns SQLite stores (schema.ts SQLITE_STORED); unchanged for other tables. */
function sqliteStoredRows(t: TableRows): TableRows {
  const stored = SQLITE_STORED.get(t.table);
  if (!stored) return t;
  const map = t.columns.map((col) => stored.get(col));
  if (map.every((m) => m === undefined)) return t;
  return {
    table: t.table,
    columns: t.columns.map((col, i) => map[i]?.name ?? col),
    rows: t.rows.map((row) => row.map((v, i) => (map[i] ? map[i]!.toStored(v) : v))),
  };
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
