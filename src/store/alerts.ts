// Queries on tb_monitor_alert_info: one row per (rshost, kind) holding the incident state.
// istate keeps the legacy meaning (0 = ok, n > 0 = alerting, n alerts sent); `sent` is the exact count
// (istate is a tinyint). Every state change is a compare-and-set, so when several servers share the
// database only the one whose statement changed the row sends the message.
import { fromSqlTime, sqlTime, type Db } from "./db.ts";
import { NOT_HELD_SQL } from "./legacy.ts";

export interface AlertRow {
  rshost: string;
  kind: string;
  /** 0 = no incident open; n > 0 = open */
  istate: number;
  /** alerts sent for the current (or last) incident */
  sent: number;
  /** start of the incident, epoch ms */
  since: number | null;
  /** time of the last alert or recovery, epoch ms */
  aTime: number | null;
  owner: string;
  remarks: string;
}

const LEGACY_ISTATE_MAX = 127;
const REMARKS_MAX = 1024;

const COLUMNS = "rshost, kind, istate, sent, since, a_time, owner, remarks";

interface RawRow {
  rshost: string;
  kind: string;
  istate: number | string;
  sent: number | string | null;
  since: string | Date | null;
  a_time: string | Date | null;
  owner: string | null;
  remarks: string | null;
}

function toRow(r: RawRow): AlertRow {
  return {
    rshost: r.rshost,
    kind: r.kind,
    istate: Number(r.istate),
    sent: Number(r.sent ?? 0),
    since: r.since ? fromSqlTime(r.since) : null,
    aTime: r.a_time ? fromSqlTime(r.a_time) : null,
    owner: r.owner ?? "",
    remarks: r.remarks ?? "",
  };
}

export async function getAlert(db: Db, rshost: string, kind: string): Promise<AlertRow | undefined> {
  const rows = await db.query<RawRow>(`SELECT ${COLUMNS} FROM tb_monitor_alert_info WHERE rshost = ? AND kind = ?`, [rshost, kind]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

/** Open incidents (istate > 0), optionally of one kind or of one host. */
export async function listOpenAlerts(db: Db, filter: { kind?: string; rshost?: string } = {}): Promise<AlertRow[]> {
  const where = ["istate > 0"];
  const params: unknown[] = [];
  if (filter.kind !== undefined) {
    where.push("kind = ?");
    params.push(filter.kind);
  }
  if (filter.rshost !== undefined) {
    where.push("rshost = ?");
    params.push(filter.rshost);
  }
  const rows = await db.query<RawRow>(`SELECT ${COLUMNS} FROM tb_monitor_alert_info WHERE ${where.join(" AND ")} ORDER BY rshost, kind`, params);
  return rows.map(toRow);
}

export interface OpenIncident {
  rshost: string;
  kind: string;
  since: number;
  now: number;
  owner: string;
  remarks: string;
}

/**
 * Opens an incident with its first alert counted. True only for the caller whose statement created
 * the row or flipped it from 0; a concurrent caller gets false and must not send.
 */
export async function claimOpen(db: Db, o: OpenIncident): Promise<boolean> {
  const remarks = o.remarks.slice(0, REMARKS_MAX);
  const ignore = db.dialect === "mysql" ? "INSERT IGNORE" : "INSERT OR IGNORE";
  const ins = await db.exec(
    `${ignore} INTO tb_monitor_alert_info (rshost, kind, istate, sent, since, a_time, owner, remarks) VALUES (?, ?, 1, 1, ?, ?, ?, ?)`,
    [o.rshost, o.kind, sqlTime(o.since), sqlTime(o.now), o.owner, remarks],
  );
  if (ins.affectedRows === 1) return true;
  const upd = await db.exec(
    "UPDATE tb_monitor_alert_info SET istate = 1, sent = 1, since = ?, a_time = ?, owner = ?, remarks = ? WHERE rshost = ? AND kind = ? AND istate = 0",
    [sqlTime(o.since), sqlTime(o.now), o.owner, remarks, o.rshost, o.kind],
  );
  return upd.affectedRows === 1;
}

/** Counts one more alert for an open incident that has sent `fromSent` so far. */
export async function claimRepeat(db: Db, o: { rshost: string; kind: string; fromSent: number; now: number; owner: string }): Promise<boolean> {
  const next = o.fromSent + 1;
  const r = await db.exec(
    "UPDATE tb_monitor_alert_info SET sent = ?, istate = ?, a_time = ?, owner = ? WHERE rshost = ? AND kind = ? AND istate > 0 AND sent = ?",
    [next, Math.min(next, LEGACY_ISTATE_MAX), sqlTime(o.now), o.owner, o.rshost, o.kind, o.fromSent],
  );
  return r.affectedRows === 1;
}

/** Closes an open incident that has sent `fromSent` alerts; the winner sends the recovery. */
export async function claimResolve(db: Db, o: { rshost: string; kind: string; fromSent: number; now: number; owner: string }): Promise<boolean> {
  const r = await db.exec(
    "UPDATE tb_monitor_alert_info SET istate = 0, a_time = ?, owner = ? WHERE rshost = ? AND kind = ? AND istate > 0 AND sent = ?",
    [sqlTime(o.now), o.owner, o.rshost, o.kind, o.fromSent],
  );
  return r.affectedRows === 1;
}

export interface RunningHost {
  rshost: string;
  /** server clock of the last report, epoch ms; null = never reported */
  lastReportAt: number | null;
}

/** Hosts the silent rule and the witness list look at: istate 2 (deployed and running), old tool's hosts still held excepted. */
export async function listRunningHosts(db: Db): Promise<RunningHost[]> {
  const rows = await db.query<{ rshost: string; last_report_at: number | string | null }>(
    `SELECT rshost, last_report_at FROM tb_monitor_host_config WHERE istate = 2 AND ${NOT_HELD_SQL} ORDER BY rshost`,
  );
  return rows.map((r) => ({ rshost: r.rshost, lastReportAt: r.last_report_at === null ? null : Number(r.last_report_at) }));
}

/** Closes an open incident without a message (its host was removed). */
export async function closeQuietly(db: Db, o: { rshost: string; kind: string; now: number; owner: string }): Promise<boolean> {
  const r = await db.exec("UPDATE tb_monitor_alert_info SET istate = 0, a_time = ?, owner = ? WHERE rshost = ? AND kind = ? AND istate > 0", [
    sqlTime(o.now),
    o.owner,
    o.rshost,
    o.kind,
  ]);
  return r.affectedRows === 1;
}
