// The database half of the ingest benchmark.
//   bun run bench/ingest-db.ts            starts a throwaway MariaDB and prints:
//   - the raw multi-row INSERT rate with mysql2 (the ceiling), and writeReports' rate on the same rows
//   - bytes on disk per host per day at a 30 s interval (MariaDB data+index after ANALYZE; SQLite file)
// The server engineer's bench imports rawInsertRate() to print server/raw.
// Knobs: BENCH_HOSTS (10), BENCH_PROFILES (typical,busy), BENCH_RATE_ROUNDS (40; 0 skips the rates),
// BENCH_ROW_FORMAT=DYNAMIC (size without InnoDB compression).
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import mysql from "mysql2/promise";
import type { Report } from "../src/protocol/report.ts";
import { openDb, type Db } from "../src/store/db.ts";
import { COLUMNS, reportRows, writeReports, type ReportRows } from "../src/store/reports.ts";
import { runRetention } from "../src/store/retention.ts";
import { TIME_SERIES_TABLES } from "../src/store/schema.ts";
import { migrate } from "../src/store/migrate.ts";
import { testMariaDB } from "../test/helpers/mariadb.ts";
import { makeConnection, makeProcess, makeReport } from "../test/helpers/reports.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export interface Rate {
  reports: number;
  rows: number;
  seconds: number;
  reportsPerS: number;
  rowsPerS: number;
}

function rate(reports: number, rows: number, seconds: number): Rate {
  return { reports, rows, seconds, reportsPerS: reports / seconds, rowsPerS: rows / seconds };
}

export interface HostProfile {
  processes: number;
  filesystems: number;
  disks: number;
  connections: number;
  listenPorts: number;
}

/** Default thresholds, top_n 10: the top 10 plus 2 over a threshold; one busy disk; a few busy connections. */
export const TYPICAL: HostProfile = { processes: 12, filesystems: 3, disks: 3, connections: 2, listenPorts: 3 };
/** The upper end of "typical": 20 kept processes, 4 filesystems and disks, 6 connections over the threshold. */
export const BUSY: HostProfile = { processes: 20, filesystems: 4, disks: 4, connections: 6, listenPorts: 5 };

/** One host's report shaped by `profile`; values vary a little from report to report. */
export function typicalReport(host: string, time: number, seq: number, profile: HostProfile = TYPICAL): Report {
  const jitter = (v: number) => v * (0.8 + ((seq * 7919 + v) % 40) / 100);
  const processes = Array.from({ length: profile.processes }, (_, i) =>
    makeProcess({
      pid: 1000 + i * 37,
      start_time: 1_760_000_000_000 + i * 1000,
      user: i % 3 ? "root" : "mysql",
      comm: `proc${i}`,
      cmdline: `/usr/bin/proc${i} --config=/etc/proc${i}.conf --port=${3300 + i}`,
      instance: i < 2 ? String(3300 + i) : "",
      cpu_pct: i === 0 ? jitter(230) : jitter(Math.max(0.1, 15 - i)),
      rss_bytes: Math.round(i === 1 ? jitter(6 * GiB) : jitter((200 - i * 10) * MiB)),
      read_bytes_per_s: Math.round(i === 0 ? jitter(12 * MiB) : jitter(100 * 1024)),
      write_bytes_per_s: Math.round(jitter(50 * 1024)),
      net_rx_bytes_per_s: Math.round(jitter(20 * 1024)),
      net_tx_bytes_per_s: Math.round(jitter(30 * 1024)),
      threads: 1 + i,
    }),
  );
  return makeReport({
    host,
    id: `${host}-bench-${seq}`,
    time,
    system: {
      filesystems: ["/", "/data", "/var/log", "/backup"].slice(0, profile.filesystems).map((mount, i) => ({
        device: `/dev/sd${"abcd"[i]}1`,
        mount,
        fstype: "xfs",
        total_bytes: 500 * GiB,
        used_bytes: Math.round(jitter(200 * GiB)),
        free_bytes: Math.round(300 * GiB),
      })),
      disks: ["sda", "sdb", "sdc", "sdd"].slice(0, profile.disks).map((device, i) => ({ device, read_bytes_per_s: jitter(MiB), write_bytes_per_s: jitter(MiB), util_pct: i === 1 ? jitter(60) : jitter(5), avgqu: jitter(1) })),
    },
    processes,
    connections: Array.from({ length: profile.connections }, (_, i) => makeConnection({ pid: 1000, local: `10.0.0.5:${3300 + i}`, remote: `10.0.1.${i + 10}:5${i}123`, rx_bytes_per_s: Math.round(jitter(11 * MiB)), tx_bytes_per_s: Math.round(jitter(12 * MiB)) })),
    listen_ports: [3300, 3301, 22, 80, 443].slice(0, profile.listenPorts).map((port, i) => ({ port, pid: 1000 + i, connections: 5 + i, rx_bytes_per_s: Math.round(jitter(MiB)), tx_bytes_per_s: Math.round(jitter(MiB)) })),
  });
}

/** `hosts` hosts reporting every `intervalMs` for `count` rounds ending at `endTime`. */
export function typicalReports(hosts: number, count: number, endTime = Date.now(), intervalMs = 30_000, profile: HostProfile = TYPICAL): Report[] {
  const out: Report[] = [];
  for (let round = 0; round < count; round++) {
    for (let h = 0; h < hosts; h++) out.push(typicalReport(`10.0.${h >> 8}.${h & 255}`, endTime - (count - 1 - round) * intervalMs, round * hosts + h, profile));
  }
  return out;
}

/** Sample rows (the command-line dictionary is not counted: it is written once per command line). */
function rowsOf(rows: ReportRows): number {
  return Object.entries(rows).reduce((n, [table, r]) => (table === "process_info" ? n : n + r.length), 0);
}

/**
 * The ceiling: the same rows writeReports would write, inserted directly with mysql2, one multi-row
 * INSERT per table per batch in one transaction, no dedupe or any other pmon logic. Building the
 * rows is not timed. `url` must point at a migrated database.
 */
export async function rawInsertRate(url: string, reports: readonly Report[], batchSize = 500): Promise<Rate> {
  const u = new URL(url);
  const conn = await mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
  });
  const batches: ReportRows[] = [];
  for (let i = 0; i < reports.length; i += batchSize) {
    let rows: ReportRows | undefined;
    for (const r of reports.slice(i, i + batchSize)) rows = reportRows(r, r.time, {}, rows);
    // the dictionary rows once per batch, as any sane bulk loader would
    rows!.process_info = [...new Map(rows!.process_info.map((row) => [row[0], row])).values()];
    batches.push(rows!);
  }
  const total = batches.reduce((n, b) => n + rowsOf(b), 0);
  const started = performance.now();
  try {
    for (const b of batches) {
      await conn.beginTransaction();
      for (const key of Object.keys(COLUMNS) as (keyof ReportRows)[]) {
        const rows = b[key];
        if (!rows.length) continue;
        const cols = COLUMNS[key];
        const per = Math.floor(30_000 / cols.length);
        for (let i = 0; i < rows.length; i += per) {
          const chunk = rows.slice(i, i + per);
          const one = `(${cols.map(() => "?").join(",")})`;
          await conn.query(`${key === "process_info" ? "INSERT IGNORE" : "INSERT"} INTO tb_monitor_${key} (${cols.join(",")}) VALUES ${chunk.map(() => one).join(",")}`, chunk.flat());
        }
      }
      await conn.commit();
    }
  } finally {
    await conn.end();
  }
  return rate(reports.length, total, (performance.now() - started) / 1000);
}

/** writeReports on the same reports, in batches of `batchSize`. */
export async function storeWriteRate(db: Db, reports: readonly Report[], batchSize = 500): Promise<Rate> {
  let total = 0;
  for (const r of reports) total += rowsOf(reportRows(r, r.time));
  const started = performance.now();
  for (let i = 0; i < reports.length; i += batchSize) {
    await writeReports(
      db,
      reports.slice(i, i + batchSize).map((report) => ({ report, receivedAt: report.time + 500 })),
    );
  }
  return rate(reports.length, total, (performance.now() - started) / 1000);
}

/** data_length + index_length of pmon's tables after ANALYZE (InnoDB page granularity). */
export async function mysqlBytes(db: Db): Promise<{ total: number; byTable: Record<string, number> }> {
  const tables = await db.query<{ name: string }>("SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()");
  for (const t of tables) await db.query(`ANALYZE TABLE ${t.name}`);
  const rows = await db.query<{ name: string; bytes: number }>(
    "SELECT TABLE_NAME AS name, DATA_LENGTH + INDEX_LENGTH AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
  );
  const byTable = Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
  return { total: Object.values(byTable).reduce((a, b) => a + b, 0), byTable };
}

/**
 * Raw mysql2 vs writeReports on the same reports and batch size, alternating runs on fresh databases
 * (the machine is shared: the best of each counts), then one transaction per report for comparison.
 */
async function compareRates(end: number): Promise<void> {
  const rateReports = typicalReports(50, Number(process.env.BENCH_RATE_ROUNDS ?? 40), end);
  let raw: Rate | undefined;
  let store: Rate | undefined;
  for (let run = 0; run < 3; run++) {
    const rawDb = await testMariaDB("bench_raw");
    const setup = openDb(rawDb.url);
    await migrate(setup);
    await setup.close();
    const r = await rawInsertRate(rawDb.url, rateReports, 250);
    if (!raw || r.reportsPerS > raw.reportsPerS) raw = r;
    const storeDb = openDb((await testMariaDB("bench_store")).url);
    await migrate(storeDb);
    const w = await storeWriteRate(storeDb, rateReports, 250);
    await storeDb.close();
    if (!store || w.reportsPerS > store.reportsPerS) store = w;
  }
  const single = openDb((await testMariaDB("bench_single")).url);
  await migrate(single);
  const one = await storeWriteRate(single, rateReports.slice(0, 500), 1);
  await single.close();
  console.log(`insert rate, ${rateReports.length} reports of 50 hosts in batches of 250 (MariaDB, best of 3):`);
  console.log(`  raw mysql2 multi-row INSERT: ${raw!.reportsPerS.toFixed(0)} reports/s, ${raw!.rowsPerS.toFixed(0)} rows/s`);
  console.log(`  writeReports:                ${store!.reportsPerS.toFixed(0)} reports/s, ${store!.rowsPerS.toFixed(0)} rows/s (${((store!.reportsPerS / raw!.reportsPerS) * 100).toFixed(0)} % of raw)`);
  console.log(`  writeReports one report per transaction: ${one.reportsPerS.toFixed(0)} reports/s (${((one.reportsPerS / store!.reportsPerS) * 100).toFixed(0)} % of batched)`);
}

async function main(): Promise<void> {
  const hosts = Number(process.env.BENCH_HOSTS ?? 10);
  const DAY_ROUNDS = 2880; // 24 h at 30 s
  const mb = (b: number) => (b / 1e6).toFixed(2);
  const end = Date.UTC(2026, 0, 10, 23, 59, 30);

  if (process.env.BENCH_RATE_ROUNDS !== "0") await compareRates(end);

  // --- bytes per host per day, for each profile
  for (const [name, profile] of ([["typical", TYPICAL], ["busy", BUSY]] as const).filter(([n]) => (process.env.BENCH_PROFILES ?? "typical,busy").split(",").includes(n))) {
    const day = typicalReports(hosts, DAY_ROUNDS, end, 30_000, profile);
    const perReport = rowsOf(reportRows(day[0]!, end));
    const m = await testMariaDB("bench_size");
    const mdb = openDb(m.url);
    await migrate(mdb);
    // BENCH_ROW_FORMAT=DYNAMIC measures the tables without compression, for comparison
    if (process.env.BENCH_ROW_FORMAT) {
      for (const t of [...TIME_SERIES_TABLES, "tb_monitor_report_seen"]) await mdb.exec(`ALTER TABLE ${t} ROW_FORMAT=${process.env.BENCH_ROW_FORMAT.replace(/\W/g, "")} KEY_BLOCK_SIZE=0`);
    }
    await runRetention(mdb, end, 30); // daily partitions, as in production
    const before = await mysqlBytes(mdb);
    await storeWriteRate(mdb, day, 500);
    const after = await mysqlBytes(mdb);
    await mdb.close();
    const perHost = (after.total - before.total) / hosts;
    console.log(`bytes on disk per host per day, ${name} host ${JSON.stringify(profile)} (${perReport} rows/report, 30 s interval, ${hosts} hosts x ${DAY_ROUNDS} reports):`);
    console.log(`  MariaDB data+index: ${mb(perHost)} MB/host/day (targets: busy <= 5 MB)`);
    for (const [t, bytes] of Object.entries(after.byTable).sort((x, y) => y[1] - x[1])) {
      const grown = bytes - (before.byTable[t] ?? 0);
      if (grown > 0) console.log(`    ${t.padEnd(34)} ${mb(grown / hosts)} MB`);
    }
    const dir = mkdtempSync(join(tmpdir(), "pmon-bench-"));
    try {
      const file = join(dir, "pmon.db");
      const sdb = openDb(`sqlite:${file}`);
      await migrate(sdb);
      const emptySize = statSync(file).size;
      const srate = await storeWriteRate(sdb, day, 500);
      await sdb.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      await sdb.close();
      console.log(`  SQLite file:        ${mb((statSync(file).size - emptySize) / hosts)} MB/host/day (writeReports ${srate.reportsPerS.toFixed(0)} reports/s)`);
      // per table with its indexes, from SQLite's dbstat (pages in use)
      const stat = new Database(file, { readonly: true });
      try {
        const pages = stat.query<{ name: string; tbl: string; bytes: number }, []>(
          "SELECT d.name AS name, COALESCE(m.tbl_name, d.name) AS tbl, SUM(d.pgsize) AS bytes FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY d.name",
        ).all();
        const byTable = new Map<string, { table: number; index: number }>();
        for (const p of pages) {
          const e = byTable.get(p.tbl) ?? { table: 0, index: 0 };
          if (p.name === p.tbl) e.table += p.bytes;
          else e.index += p.bytes;
          byTable.set(p.tbl, e);
        }
        for (const [t, e] of [...byTable].sort((x, y) => y[1].table + y[1].index - x[1].table - x[1].index)) {
          if (e.table + e.index > 64 * 1024) console.log(`    ${t.padEnd(34)} ${mb((e.table + e.index) / hosts)} MB (indexes ${mb(e.index / hosts)})`);
        }
      } finally {
        stat.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (import.meta.main) {
  await main();
  process.exit(0);
}
