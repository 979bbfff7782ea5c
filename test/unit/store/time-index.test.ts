// SQLite indexes the stored integer time `t` of the time-series tables and of tb_monitor_report_seen
// (schema migration 8) instead of the VIRTUAL text a_time. A database with rows written before it
// answers every query the same after it, the legacy a_time reads the same, and the queries pmon runs
// on a time range search the new index instead of reading the table.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, sqlTime, type Db } from "../../../src/store/db.ts";
import { topAt, topRange } from "../../../src/store/history.ts";
import { registerHost } from "../../../src/store/hosts.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { insertRows, reportRows, writeReports, COLUMNS, type ReportRows } from "../../../src/store/reports.ts";
import { runRetention } from "../../../src/store/retention.ts";
import { sampleSpan } from "../../../src/store/sample-span.ts";
import { MIGRATIONS, SEEN_TABLE, TIME_SERIES_TABLES, VERSION_DDL, VERSION_TABLE } from "../../../src/store/schema.ts";
import { hostSeries } from "../../../src/store/series.ts";
import { hostStatuses } from "../../../src/store/status.ts";
import { makeProcess, makeReport } from "../../helpers/reports.ts";

const DAY = 86_400_000;
const END = Date.UTC(2026, 0, 10, 12, 0, 0);
const HOSTS = ["db-1", "web-1"];
const ROUNDS = 40;

let dir = "";
let db: Db;

/** The schema as it was at `version`. */
async function migrateTo(d: Db, version: number): Promise<void> {
  await d.exec(VERSION_DDL.sqlite);
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    for (const sql of m.sqlite) await d.exec(sql);
    await d.exec(`INSERT INTO ${VERSION_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`, [m.version, m.name, sqlTime(END)]);
  }
}

/** Two hosts every 30 s, their processes changing, written the way version 7 stored them. */
async function writeAsVersion7(d: Db): Promise<void> {
  let rows: ReportRows | undefined;
  const seen: unknown[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [h, host] of HOSTS.entries()) {
      const time = END - (ROUNDS - 1 - round) * 30_000;
      const report = makeReport({
        host,
        id: `${host}-${round}`,
        time,
        processes: [
          makeProcess({ pid: 100 + h, cmdline: `/usr/sbin/mysqld --port=${3306 + h}`, cpu_pct: 10 + ((round * 7) % 13), rss_bytes: (1 + round) * 1024 ** 2, read_bytes_per_s: round * 1000 }),
          makeProcess({ pid: 200 + (round % 3), cmdline: `/usr/bin/worker ${round % 3}`, cpu_pct: round % 5, net_rx_bytes_per_s: round * 10 }),
        ],
      });
      rows = reportRows(report, time, {}, rows);
      seen.push([host, report.id, sqlTime(time + 500)]);
    }
  }
  // the time-series tables store t and the hundredths since version 7: the writer's mapping is the same
  for (const key of Object.keys(COLUMNS) as (keyof ReportRows)[]) {
    const r = key === "process_info" ? [...new Map(rows![key].map((x) => [x[0], x])).values()] : rows![key];
    await insertRows(d, { table: `tb_monitor_${key}`, columns: COLUMNS[key], rows: r }, key === "process_info");
  }
  // tb_monitor_report_seen kept its text a_time until version 8
  for (const s of seen) await d.exec(`INSERT INTO ${SEEN_TABLE} (rshost, report_id, a_time) VALUES (?, ?, ?)`, s);
}

/** What pmon answers from the stored rows: status, top at a moment and over a range, charts, spans. */
async function answers(d: Db) {
  const mid = END - 10 * 30_000;
  return {
    status: await hostStatuses(d, END + 10_000),
    topAtFleet: await topAt(d, { by: "cpu", limit: 5, at: mid }),
    topAtHost: await topAt(d, { by: "mem", limit: 5, host: "db-1", at: mid + 15_000 }),
    topRangeFleet: await topRange(d, { by: "io", limit: 5, from: END - 20 * 30_000, to: END }),
    topRangeHost: await topRange(d, { by: "net", limit: 5, host: "web-1", from: END - DAY, to: END }),
    series: await hostSeries(d, { host: "db-1", from: END - DAY, to: END }),
    seriesBucketed: await hostSeries(d, { host: "web-1", from: END - 20 * 60_000, to: END, maxPoints: 7 }),
    spanHost: await sampleSpan(d, "db-1"),
    spanAll: await sampleSpan(d),
  };
}

/** Every column a reader of the legacy schema sees, row by row. */
async function legacyRows(d: Db): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of TIME_SERIES_TABLES) out[t] = await d.query(`SELECT * FROM ${t} ORDER BY id`);
  out[SEEN_TABLE] = await d.query(`SELECT rshost, report_id, a_time FROM ${SEEN_TABLE} ORDER BY rshost, report_id`);
  return out;
}

/** A Db that records every SELECT it is asked to run. */
function recording(d: Db, log: { sql: string; params: readonly unknown[] }[]): Db {
  return {
    dialect: d.dialect,
    query: (sql, params = []) => (log.push({ sql, params }), d.query(sql, params)),
    exec: (sql, params) => d.exec(sql, params),
    transaction: (fn) => d.transaction((tx) => fn(recording(tx, log))),
    close: () => d.close(),
  };
}

const SERIES = new Set<string>([...TIME_SERIES_TABLES, SEEN_TABLE]);

/** The query plan's steps that read a time-series table, e.g. "SEARCH p USING INDEX ... (rshost=? AND t>?)". */
async function seriesSteps(d: Db, sql: string, params: readonly unknown[]): Promise<string[]> {
  const plan = await d.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
  // plan steps name the table or its alias; map aliases back to tables
  const alias = new Map<string, string>();
  for (const m of sql.matchAll(/\b(tb_monitor_\w+)\s+([a-z])\b/g)) alias.set(m[2]!, m[1]!);
  return plan.map((p) => p.detail).filter((detail) => {
    const name = /^(?:SCAN|SEARCH) (\w+)/.exec(detail)?.[1];
    return name !== undefined && SERIES.has(alias.get(name) ?? name);
  });
}

describe("sqlite: migration 8 indexes the integer time", () => {
  let before: Awaited<ReturnType<typeof answers>>;
  let rowsBefore: Record<string, unknown[]>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pmon-time-index-"));
    db = openDb(`sqlite:${join(dir, "pmon.db")}`);
    await migrateTo(db, 7);
    for (const host of [...HOSTS, "never-reported"]) await registerHost(db, host, { secretHash: "x", istate: 2 }, END - DAY);
    await writeAsVersion7(db);
    before = await answers(db);
    rowsBefore = await legacyRows(db);
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the data and every answer are the same after the migration; the indexes are on t", async () => {
    // the fixture has something to compare
    expect(before.status.filter((s) => s.top_process !== null).map((s) => s.host)).toEqual(HOSTS);
    expect(before.topAtFleet.rows.length).toBe(4);
    expect(before.topRangeHost.rows.length).toBeGreaterThan(0);
    expect(before.series.times.length).toBe(ROUNDS);
    expect(before.seriesBucketed.step_s).toBeGreaterThan(1);
    expect(before.seriesBucketed.times.length).toBeLessThan(ROUNDS / 2);
    expect(before.spanHost).toEqual({ first: END - (ROUNDS - 1) * 30_000, last: END });

    expect((await migrate(db, END)).applied).toEqual([8]);
    expect(await legacyRows(db)).toEqual(rowsBefore);
    expect(await answers(db)).toEqual(before);

    const indexes = await db.query<{ name: string; sql: string }>("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
    for (const t of TIME_SERIES_TABLES) {
      expect(indexes.filter((i) => i.name.startsWith(`${t}_`)).map((i) => i.sql)).toEqual([`CREATE INDEX ${t}_idx_rshost_t ON ${t} (rshost, t)`]);
    }
    expect(indexes.filter((i) => i.name.startsWith(`${SEEN_TABLE}_`)).map((i) => i.sql)).toEqual([`CREATE INDEX ${SEEN_TABLE}_idx_t ON ${SEEN_TABLE} (t)`]);
    // report_seen's time is stored as epoch seconds now, read back as the same text
    const [seen] = await db.query<{ t: number; a_time: string }>(`SELECT t, a_time FROM ${SEEN_TABLE} WHERE report_id = 'db-1-0'`);
    expect(seen).toEqual({ t: (END - (ROUNDS - 1) * 30_000) / 1000, a_time: sqlTime(END - (ROUNDS - 1) * 30_000) });
  });

  test("pmon's time-range queries on one host search the (rshost, t) index, none reads a whole table", async () => {
    const log: { sql: string; params: readonly unknown[] }[] = [];
    const r = recording(db, log);
    const mid = END - 10 * 30_000;
    await hostStatuses(r, END + 10_000);
    await topAt(r, { by: "cpu", limit: 5, at: mid });
    await topAt(r, { by: "mem", limit: 5, host: "db-1", at: mid });
    await topRange(r, { by: "io", limit: 5, host: "web-1", from: END - DAY, to: END });
    await hostSeries(r, { host: "db-1", from: END - DAY, to: END });
    await hostSeries(r, { host: "db-1", from: END - DAY, to: END, maxPoints: 7 });
    await sampleSpan(r, "db-1");
    const steps: string[] = [];
    for (const q of log) steps.push(...(await seriesSteps(db, q.sql, q.params)));
    // every table of the series was read, and only through its index on t
    expect(new Set(steps.map((s) => /INDEX (tb_monitor_\w+)_idx_rshost_t/.exec(s)?.[1]))).toEqual(new Set([...TIME_SERIES_TABLES].filter((t) => t !== "tb_monitor_port_net_info")));
    for (const s of steps) {
      // a range of t within the host; only the newest-sample seek (ORDER BY t DESC LIMIT 1) and the
      // span's MIN/MAX read the host's entries of the host_info index without a bound on t
      if (/\(rshost=\?\)$/.test(s)) expect(s).toMatch(/^SEARCH \w+ USING COVERING INDEX tb_monitor_host_info_idx_rshost_t \(rshost=\?\)$/);
      else expect(s).toMatch(/^SEARCH \w+ USING (COVERING )?INDEX tb_monitor_\w+_idx_rshost_t \(rshost=\? AND (t=\?|t>\? AND t<\?|t<\?|t>\?)\)$/);
    }
  });

  test("retention finds expired report ids through the index on t", async () => {
    const plan = await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN SELECT rowid FROM ${SEEN_TABLE} WHERE t < ? LIMIT 10`, [0]);
    expect(plan.map((p) => p.detail)).toEqual([`SEARCH ${SEEN_TABLE} USING COVERING INDEX ${SEEN_TABLE}_idx_t (t<?)`]);
    // report ids are kept 8 days: the first 10 rounds are older than that
    const r = await runRetention(db, END - (ROUNDS - 11) * 30_000 + 8 * DAY, 10);
    expect(r.deleted[SEEN_TABLE]).toBe(2 * 10);
    expect(await db.query(`SELECT COUNT(*) AS n FROM ${SEEN_TABLE}`)).toEqual([{ n: 2 * (ROUNDS - 10) }]);
  });

  test("a report written after the migration reads back through the legacy columns", async () => {
    const time = END + 30_000;
    const report = makeReport({ host: "db-1", id: "db-1-new", time, processes: [makeProcess({ pid: 100, cmdline: "/usr/sbin/mysqld --port=3306", cpu_pct: 99.5 })] });
    expect(await writeReports(db, [{ report, receivedAt: time + 500 }])).toEqual(["stored"]);
    expect(await writeReports(db, [{ report, receivedAt: time + 900 }])).toEqual(["duplicate"]);
    expect(await db.query(`SELECT a_time, t FROM ${SEEN_TABLE} WHERE report_id = 'db-1-new'`)).toEqual([{ a_time: sqlTime(time + 500), t: Math.floor((time + 500) / 1000) }]);
    expect(await db.query("SELECT a_time, cpu FROM tb_monitor_process_io_info WHERE rshost = 'db-1' AND t = ?", [time / 1000])).toEqual([{ a_time: sqlTime(time), cpu: 99.5 }]);
    const now = await topAt(db, { by: "cpu", limit: 1, host: "db-1", at: time });
    expect(now.rows.map((x) => [x.pid, x.value, x.sample_time])).toEqual([[100, 99.5, time]]);
    expect((await sampleSpan(db, "db-1")).last).toBe(time);
  });
});
