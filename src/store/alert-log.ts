// tb_monitor_alert_log: one row per alert message sent (firing, repeat, recovery), with whether a
// channel accepted it. The same message recorded twice (a replayed report carrying an agent's
// server-down alert) is stored once: event_key is unique.
import { createHash } from "node:crypto";
import type { SentAlert } from "../protocol/report.ts";
import { fromSqlTime, sqlTime, type Db } from "./db.ts";

export type AlertLogState = "firing" | "repeat" | "resolved";

export interface AlertLogEntry {
  rshost: string;
  kind: string;
  state: AlertLogState;
  /** start of the incident, epoch ms */
  since: number | null;
  /** when the message was sent, epoch ms */
  time: number;
  message: string;
  /** a channel accepted it, or no channel is configured */
  delivered: boolean;
  /** how many channels were tried */
  channels: number;
  /** the server that sent it (host:pid), or the agent's host for server_down */
  sender: string;
}

const MESSAGE_MAX = 8000;
const KIND_MAX = 255;
const SENDER_MAX = 128;

/** The identity of one message: the same alert recorded again maps to the same key. */
export function alertEventKey(e: Pick<AlertLogEntry, "rshost" | "kind" | "state" | "since" | "time">): string {
  return createHash("md5").update(JSON.stringify([e.rshost, e.kind, e.state, e.since, e.time])).digest("hex");
}

/** An alert an agent reported in alerts_sent: sent by the agent itself. */
export function agentAlertEntry(host: string, a: SentAlert): AlertLogEntry {
  return {
    rshost: host,
    kind: a.kind,
    state: a.state === "resolved" ? "resolved" : "firing",
    since: a.since,
    time: a.time,
    message: a.message,
    delivered: a.delivered,
    channels: a.channels,
    sender: host,
  };
}

/** Records messages; returns how many were new. */
export async function recordAlerts(db: Db, entries: readonly AlertLogEntry[]): Promise<number> {
  let added = 0;
  const ignore = db.dialect === "mysql" ? "INSERT IGNORE" : "INSERT OR IGNORE";
  for (const e of entries) {
    const r = await db.exec(
      `${ignore} INTO tb_monitor_alert_log (event_key, rshost, kind, state, since, a_time, message, delivered, channels, sender) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        alertEventKey(e),
        e.rshost,
        e.kind.slice(0, KIND_MAX),
        e.state,
        e.since === null ? null : sqlTime(e.since),
        sqlTime(e.time),
        e.message.toWellFormed().slice(0, MESSAGE_MAX),
        e.delivered ? 1 : 0,
        e.channels,
        e.sender.slice(0, SENDER_MAX),
      ],
    );
    added += r.affectedRows > 0 ? 1 : 0;
  }
  return added;
}

interface RawLogRow {
  rshost: string;
  kind: string;
  state: string;
  since: string | Date | null;
  a_time: string | Date;
  message: string | null;
  delivered: number | string;
  channels: number | string;
  sender: string;
}

/** The `limit` newest messages, newest first (optionally of one host). */
export async function listAlertLog(db: Db, opts: { limit?: number; rshost?: string } = {}): Promise<AlertLogEntry[]> {
  const limit = Math.max(1, Math.min(10_000, Math.floor(opts.limit ?? 100)));
  const where = opts.rshost === undefined ? "" : "WHERE rshost = ?";
  const params: unknown[] = opts.rshost === undefined ? [] : [opts.rshost];
  const rows = await db.query<RawLogRow>(
    `SELECT rshost, kind, state, since, a_time, message, delivered, channels, sender FROM tb_monitor_alert_log ${where} ORDER BY a_time DESC, id DESC LIMIT ${limit}`,
    params,
  );
  return rows.map((r) => ({
    rshost: r.rshost,
    kind: r.kind,
    state: r.state as AlertLogState,
    since: r.since ? fromSqlTime(r.since) : null,
    time: fromSqlTime(r.a_time),
    message: r.message ?? "",
    delivered: Number(r.delivered) === 1,
    channels: Number(r.channels),
    sender: r.sender,
  }));
}
