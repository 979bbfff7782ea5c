// The time column that time-range queries on the time-series tables (and tb_monitor_report_seen)
// filter, order and group on. MySQL: the DATETIME a_time, which its (rshost, a_time) indexes and
// daily partitions are built on. SQLite: the stored epoch seconds `t`, which its (rshost, t) indexes
// hold (schema migration 8); a_time there is a VIRTUAL text column no index holds, so a filter on it
// would read the whole table. Both read back as the same 'YYYY-MM-DD HH:MM:SS' a_time.
import { fromSqlTime, sqlTime, type Db } from "./db.ts";

/** The indexed time column, with an optional table alias ("p."). */
export function timeCol(db: Db, alias = ""): string {
  return db.dialect === "sqlite" ? `${alias}t` : `${alias}a_time`;
}

/** Epoch ms as a value to compare with timeCol (truncated to the second, like sqlTime). */
export function timeParam(db: Db, ms: number): string | number {
  return db.dialect === "sqlite" ? Math.floor(ms / 1000) : sqlTime(ms);
}

/** A value read from timeCol as epoch ms. */
export function fromTimeValue(v: string | number | bigint | Date): number {
  return typeof v === "number" || typeof v === "bigint" ? Number(v) * 1000 : fromSqlTime(v);
}

/** Integer bucket number of `step` seconds from timeCol. */
export function timeBucket(db: Db, step: number): string {
  const s = Math.max(1, Math.floor(step));
  return db.dialect === "mysql" ? `FLOOR(TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', a_time) / ${s})` : `(t / ${s})`;
}
