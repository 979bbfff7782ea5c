// tb_monitor_version: the newest row is the version every agent must run; a server that starts with
// a different VERSION records it, and the fleet manager redeploys (legacy istate 2 → 1).
import { isPmonVersion } from "../util/pmon-version.ts";
import { fromSqlTime, sqlTime, type Db } from "./db.ts";

export interface VersionRow {
  id: number;
  version: string;
  /** epoch ms */
  a_time: number;
}

export async function latestVersion(db: Db): Promise<VersionRow | undefined> {
  const rows = await db.query<{ id: number; version: string | null; a_time: string }>("SELECT id, version, a_time FROM tb_monitor_version ORDER BY id DESC LIMIT 1");
  const r = rows[0];
  return r ? { id: Number(r.id), version: r.version ?? "", a_time: fromSqlTime(r.a_time) } : undefined;
}

/** The newest row that holds a pmon version; rows the old tool wrote (e.g. "1.6") are skipped. */
export async function latestPmonVersion(db: Db): Promise<VersionRow | undefined> {
  const rows = await db.query<{ id: number; version: string | null; a_time: string }>("SELECT id, version, a_time FROM tb_monitor_version ORDER BY id DESC LIMIT 1000");
  const r = rows.find((row) => isPmonVersion(row.version ?? ""));
  return r ? { id: Number(r.id), version: r.version ?? "", a_time: fromSqlTime(r.a_time) } : undefined;
}

/** Appends `version` as the newest row (history is kept). */
export async function recordVersion(db: Db, version: string, nowMs = Date.now()): Promise<void> {
  await db.exec("INSERT INTO tb_monitor_version (version, a_time) VALUES (?, ?)", [version, sqlTime(nowMs)]);
}
