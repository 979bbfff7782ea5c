// Retention (server.retention_days). MySQL: the time-series tables are RANGE-partitioned by day, so
// expiry drops whole partitions and future days are split off the MAXVALUE catch-all ahead of time.
// SQLite (and a MySQL table without partitions): batched deletes. Never one unbounded DELETE.
import { sqlTime, type Db } from "./db.ts";
import { SEEN_TABLE, TIME_SERIES_TABLES } from "./schema.ts";
import { timeCol, timeParam } from "./series-time.ts";

const DAY_MS = 86_400_000;
/** TO_DAYS('1970-01-01') in MySQL */
const TO_DAYS_EPOCH = 719_528;
/** daily partitions kept ready beyond today */
export const DAYS_AHEAD = 3;
/** rows per DELETE statement */
export const DELETE_BATCH = 5000;
/** report ids are remembered this long at most: enough for an agent spool replay (72 h by default) */
const DEDUPE_MAX_DAYS = 8;

export interface RetentionResult {
  /** partitions created, "table.pYYYYMMDD" */
  created: string[];
  /** partitions dropped */
  dropped: string[];
  /** rows deleted per table */
  deleted: Record<string, number>;
  /** true when another server held the retention lock and this run did nothing */
  skipped?: boolean;
}

/** MySQL TO_DAYS() of the UTC day containing `ms`. */
export function toDays(ms: number): number {
  return Math.floor(ms / DAY_MS) + TO_DAYS_EPOCH;
}

/** The daily partition holding TO_DAYS() value `days`: pYYYYMMDD. */
export function partitionName(days: number): string {
  return `p${new Date((days - TO_DAYS_EPOCH) * DAY_MS).toISOString().slice(0, 10).replace(/-/g, "")}`;
}

/** Expires data older than `days` and prepares the next days' partitions. Called at start and hourly. */
export async function runRetention(db: Db, nowMs: number, days: number): Promise<RetentionResult> {
  if (!(nowMs > 1e11) || !(days >= 1 && days < 1e5)) throw new Error(`runRetention(db, nowMs, days): bad arguments nowMs=${nowMs} days=${days}`);
  const result: RetentionResult = { created: [], dropped: [], deleted: {} };
  const cutoff = nowMs - days * DAY_MS;
  const dedupeCutoff = nowMs - Math.min(days, DEDUPE_MAX_DAYS) * DAY_MS;
  if (db.dialect === "mysql") {
    // One connection holds the lock; a second server running retention at the same time skips.
    const ran = await db.transaction(async (tx) => {
      const [lock] = await tx.query<{ ok: number | null }>("SELECT GET_LOCK(CONCAT('pmon_retention:', DATABASE()), 0) AS ok");
      if (lock?.ok !== 1) return false;
      try {
        for (const table of TIME_SERIES_TABLES) await mysqlPartitions(tx, table, nowMs, cutoff, result);
      } finally {
        await tx.query("SELECT RELEASE_LOCK(CONCAT('pmon_retention:', DATABASE()))").catch(() => {});
      }
      return true;
    });
    if (!ran) return { ...result, skipped: true };
  } else {
    for (const table of TIME_SERIES_TABLES) result.deleted[table] = await sqliteDeleteOldest(db, table, cutoff);
  }
  result.deleted[SEEN_TABLE] = await deleteBatched(db, SEEN_TABLE, `${timeCol(db)} < ?`, [timeParam(db, dedupeCutoff)]);
  // Only finished incidents: a host that is still alerting keeps its counter.
  result.deleted.tb_monitor_alert_info = await deleteBatched(db, "tb_monitor_alert_info", "istate = 0 AND a_time < ?", [sqlTime(cutoff)]);
  result.deleted.tb_monitor_alert_log = await deleteBatched(db, "tb_monitor_alert_log", "a_time < ?", [sqlTime(cutoff)]);
  result.deleted.tb_monitor_server_info = await deleteBatched(db, "tb_monitor_server_info", "a_time < ?", [sqlTime(cutoff)]);
  // Command lines whose last use (a_time, refreshed daily by writeReports) is older than every kept
  // row; two days of slack cover the once-a-day refresh and the day granularity of partitions.
  result.deleted.tb_monitor_process_info = await deleteBatched(db, "tb_monitor_process_info", "a_time < ?", [sqlTime(cutoff - 2 * DAY_MS)]);
  return result;
}

interface PartitionInfo {
  name: string | null;
  /** the LESS THAN value: a TO_DAYS number, or "MAXVALUE" */
  bound: string | null;
}

async function mysqlPartitions(tx: Db, table: string, nowMs: number, cutoff: number, result: RetentionResult): Promise<void> {
  const parts = await partitionsOf(tx, table);
  const daily = dailyOf(parts);
  const hasMax = parts.some((p) => p.name === "pmax" && p.bound === "MAXVALUE");
  if (!hasMax) {
    // Created by hand without partitions (or a backend without them): fall back to batched deletes.
    result.deleted[table] = await deleteBatched(tx, table, "a_time < ?", [sqlTime(cutoff)]);
    return;
  }
  // Drop whole days that ended at or before the cutoff day: every row in them is older than the cutoff.
  const expired = daily.filter((p) => Number(p.bound) <= toDays(cutoff)).map((p) => p.name!);
  if (expired.length) {
    // Names come from information_schema, not from input; DDL takes no placeholders.
    await tx.exec(`ALTER TABLE ${table} DROP PARTITION ${expired.join(", ")}`);
    result.dropped.push(...expired.map((n) => `${table}.${n}`));
  }
  await splitAhead(tx, table, daily, nowMs, result);
}

/**
 * The partitions of today .. today+DAYS_AHEAD, made before the server takes reports: on a new or
 * long-stopped database the first reports would land in pmax, and splitting rows off pmax while
 * reports are written can leave a table's id counter behind its rows (id-counter.ts).
 */
export async function preparePartitions(db: Db, nowMs: number): Promise<string[]> {
  if (db.dialect !== "mysql") return [];
  const result: RetentionResult = { created: [], dropped: [], deleted: {} };
  await db.transaction(async (tx) => {
    const [lock] = await tx.query<{ ok: number | null }>("SELECT GET_LOCK(CONCAT('pmon_retention:', DATABASE()), 0) AS ok");
    if (lock?.ok !== 1) return;
    try {
      for (const table of TIME_SERIES_TABLES) {
        const parts = await partitionsOf(tx, table);
        if (parts.some((p) => p.name === "pmax" && p.bound === "MAXVALUE")) await splitAhead(tx, table, dailyOf(parts), nowMs, result);
      }
    } finally {
      await tx.query("SELECT RELEASE_LOCK(CONCAT('pmon_retention:', DATABASE()))").catch(() => {});
    }
  });
  return result.created;
}

async function partitionsOf(tx: Db, table: string): Promise<PartitionInfo[]> {
  return tx.query<PartitionInfo>(
    `SELECT PARTITION_NAME AS name, PARTITION_DESCRIPTION AS bound FROM information_schema.PARTITIONS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY PARTITION_ORDINAL_POSITION`,
    [table],
  );
}

const dailyOf = (parts: PartitionInfo[]) => parts.filter((p) => p.name && p.bound && /^\d+$/.test(p.bound));

/** Splits today .. today+DAYS_AHEAD off pmax (only the days not there yet). */
async function splitAhead(tx: Db, table: string, daily: PartitionInfo[], nowMs: number, result: RetentionResult): Promise<void> {
  const highest = daily.reduce((m, p) => Math.max(m, Number(p.bound)), 0);
  const wanted: number[] = [];
  for (let d = toDays(nowMs); d <= toDays(nowMs) + DAYS_AHEAD; d++) if (d + 1 > highest) wanted.push(d);
  if (wanted.length) {
    const defs = wanted.map((d) => `PARTITION ${partitionName(d)} VALUES LESS THAN (${d + 1})`);
    await tx.exec(`ALTER TABLE ${table} REORGANIZE PARTITION pmax INTO (${defs.join(", ")}, PARTITION pmax VALUES LESS THAN MAXVALUE)`);
    result.created.push(...wanted.map((d) => `${table}.${partitionName(d)}`));
  }
}

/** `DELETE ... WHERE cond LIMIT n` until nothing is left (MySQL), or the rowid-batched form (SQLite). */
async function deleteBatched(db: Db, table: string, where: string, params: unknown[]): Promise<number> {
  let total = 0;
  for (;;) {
    const sql =
      db.dialect === "mysql"
        ? `DELETE FROM ${table} WHERE ${where} LIMIT ${DELETE_BATCH}`
        : `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${where} LIMIT ${DELETE_BATCH})`;
    const r = await db.exec(sql, params);
    total += r.affectedRows;
    if (r.affectedRows < DELETE_BATCH) return total;
  }
}

/**
 * SQLite time series have no index that starts with the time (it would cost as much as the data;
 * theirs is (rshost, t)): rows arrive in time order, so each batch looks only at the oldest
 * DELETE_BATCH rows by id and deletes the expired ones among them, stopping when a batch finds none.
 * A late row (a replayed spool) waits until the rows inserted before it have expired.
 */
async function sqliteDeleteOldest(db: Db, table: string, cutoff: number): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await db.exec(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM (SELECT id, t FROM ${table} ORDER BY id LIMIT ${DELETE_BATCH}) WHERE t < ?)`,
      [timeParam(db, cutoff)],
    );
    total += r.affectedRows;
    if (r.affectedRows === 0) return total;
  }
}
