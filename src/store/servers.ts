// tb_monitor_server_info: server heartbeats, so servers (and operators) can tell which peers are alive.
import { fromSqlTime, sqlTime, type Db } from "./db.ts";

export interface ServerRow {
  server_id: string;
  address: string;
  version: string;
  /** epoch ms */
  started_at: number;
  /** epoch ms of the last heartbeat */
  a_time: number;
}

/** Upserts this server's row with a_time = now. */
export async function heartbeat(db: Db, s: { serverId: string; address: string; version: string; startedAt: number }, nowMs = Date.now()): Promise<void> {
  const params = [s.serverId, s.address, s.version, sqlTime(s.startedAt), sqlTime(nowMs)];
  const sql =
    db.dialect === "mysql"
      ? `INSERT INTO tb_monitor_server_info (server_id, address, version, started_at, a_time) VALUES (?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE address = VALUES(address), version = VALUES(version), started_at = VALUES(started_at), a_time = VALUES(a_time)`
      : `INSERT INTO tb_monitor_server_info (server_id, address, version, started_at, a_time) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (server_id) DO UPDATE SET address = excluded.address, version = excluded.version, started_at = excluded.started_at, a_time = excluded.a_time`;
  await db.exec(sql, params);
}

/** Servers whose last heartbeat is at or after `sinceMs`, by id. */
export async function liveServers(db: Db, sinceMs: number): Promise<ServerRow[]> {
  const rows = await db.query<Record<string, unknown>>(
    "SELECT server_id, address, version, started_at, a_time FROM tb_monitor_server_info WHERE a_time >= ? ORDER BY server_id",
    [sqlTime(sinceMs)],
  );
  return rows.map((r) => ({
    server_id: String(r.server_id),
    address: String(r.address),
    version: String(r.version),
    started_at: fromSqlTime(r.started_at as string),
    a_time: fromSqlTime(r.a_time as string),
  }));
}

/** The most recent heartbeat of any server, fresh or not; undefined when no server ever wrote one. */
export async function lastHeartbeat(db: Db): Promise<ServerRow | undefined> {
  const rows = await db.query<Record<string, unknown>>(
    "SELECT server_id, address, version, started_at, a_time FROM tb_monitor_server_info ORDER BY a_time DESC, server_id LIMIT 1",
    [],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    server_id: String(r.server_id),
    address: String(r.address),
    version: String(r.version),
    started_at: fromSqlTime(r.started_at as string),
    a_time: fromSqlTime(r.a_time as string),
  };
}
