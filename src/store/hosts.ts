// tb_monitor_host_config: the enrolled hosts, their lifecycle state (legacy istate), secrets (hash
// only) and what the server last heard from them.
import { fromSqlTime, sqlTime, type Db } from "./db.ts";

/** Legacy lifecycle: 1 → deploy → 2; 0 → undeploy → -1. */
export const ISTATE = { removed: -1, toRemove: 0, toDeploy: 1, running: 2 } as const;

export interface HostRow {
  id: number;
  rshost: string;
  istate: number;
  /** sha256 of the host's secret; "" when none */
  secret_hash: string;
  agent_version: string;
  /** the version before the last upgrade ("" when none), for rollbacks */
  previous_version: string;
  /** server clock, epoch ms */
  last_report_at: number | null;
  /** the agent's `time` of its newest report, epoch ms */
  last_agent_time: number | null;
  /** agent clock - server clock at the last fresh report */
  clock_skew_ms: number | null;
  deploy_failures: number;
  deploy_error: string;
  /** epoch ms; when the manager may retry a failed deployment */
  next_deploy_at: number | null;
  /** false when another tool installed the agent (`pmon enroll --no-deploy`): pmon never ssh's there */
  deployed_by_pmon: boolean;
  created_at: number;
  updated_at: number;
}

/** Columns a caller may change along with istate. */
export type HostUpdate = Partial<Pick<HostRow, "secret_hash" | "agent_version" | "previous_version" | "deploy_failures" | "deploy_error" | "next_deploy_at" | "clock_skew_ms">>;

const UPDATABLE: readonly (keyof HostUpdate)[] = ["secret_hash", "agent_version", "previous_version", "deploy_failures", "deploy_error", "next_deploy_at", "clock_skew_ms"];

const SELECT = `SELECT id, rshost, istate, secret_hash, agent_version, previous_version, last_report_at, last_agent_time, clock_skew_ms,
  deploy_failures, deploy_error, next_deploy_at, deployed_by_pmon, created_at, updated_at FROM tb_monitor_host_config`;

const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function toHost(r: Record<string, unknown>): HostRow {
  return {
    id: Number(r.id),
    rshost: String(r.rshost),
    istate: Number(r.istate),
    secret_hash: String(r.secret_hash ?? ""),
    agent_version: String(r.agent_version ?? ""),
    previous_version: String(r.previous_version ?? ""),
    last_report_at: numOrNull(r.last_report_at),
    last_agent_time: numOrNull(r.last_agent_time),
    clock_skew_ms: numOrNull(r.clock_skew_ms),
    deploy_failures: Number(r.deploy_failures ?? 0),
    deploy_error: String(r.deploy_error ?? ""),
    next_deploy_at: numOrNull(r.next_deploy_at),
    deployed_by_pmon: Number(r.deployed_by_pmon ?? 1) !== 0,
    created_at: fromSqlTime(r.created_at as string),
    updated_at: fromSqlTime(r.updated_at as string),
  };
}

export async function getHost(db: Db, rshost: string): Promise<HostRow | undefined> {
  const rows = await db.query(`${SELECT} WHERE rshost = ?`, [rshost]);
  return rows[0] ? toHost(rows[0]) : undefined;
}

/** What the server needs to authenticate reports, for every host (removed ones included), by name. */
export async function hostAuthRows(db: Db): Promise<Map<string, { istate: number; secret_hash: string }>> {
  const rows = await db.query<{ rshost: string; istate: number; secret_hash: string | null }>("SELECT rshost, istate, secret_hash FROM tb_monitor_host_config");
  return new Map(rows.map((r) => [r.rshost, { istate: Number(r.istate), secret_hash: r.secret_hash ?? "" }]));
}

/** Every host, removed ones included, by name. */
export async function listHosts(db: Db, opts: { istate?: readonly number[] } = {}): Promise<HostRow[]> {
  const states = opts.istate ?? [];
  const where = states.length ? ` WHERE istate IN (${states.map(() => "?").join(",")})` : "";
  const rows = await db.query(`${SELECT}${where} ORDER BY rshost`, [...states]);
  return rows.map(toHost);
}

/**
 * Creates the host, or re-keys an existing one (new secret, new istate, deploy failures reset). A new
 * key is a new agent: what was learned about the old one's clock (skew, newest time) is forgotten.
 * `deployedByPmon` (default true, like the column) is false for hosts whose agent another tool installs.
 * Returns the stored row.
 */
export async function registerHost(
  db: Db,
  rshost: string,
  opts: { secretHash: string; istate: number; deployedByPmon?: boolean },
  nowMs = Date.now(),
): Promise<HostRow> {
  const now = sqlTime(nowMs);
  const upsert =
    db.dialect === "mysql"
      ? `INSERT INTO tb_monitor_host_config (rshost, istate, secret_hash, deployed_by_pmon, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE istate = VALUES(istate), secret_hash = VALUES(secret_hash), deployed_by_pmon = VALUES(deployed_by_pmon),
           deploy_failures = 0, deploy_error = '', next_deploy_at = NULL, ${FORGET_CLOCK}, updated_at = VALUES(updated_at)`
      : `INSERT INTO tb_monitor_host_config (rshost, istate, secret_hash, deployed_by_pmon, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (rshost) DO UPDATE SET istate = excluded.istate, secret_hash = excluded.secret_hash, deployed_by_pmon = excluded.deployed_by_pmon,
           deploy_failures = 0, deploy_error = '', next_deploy_at = NULL, ${FORGET_CLOCK}, updated_at = excluded.updated_at`;
  await db.exec(upsert, [rshost, opts.istate, opts.secretHash, opts.deployedByPmon === false ? 0 : 1, now, now]);
  return (await getHost(db, rshost))!;
}

/** SET clause for a host whose key is replaced: a new agent, so nothing learned about the old one's clock holds. */
export const FORGET_CLOCK = "clock_skew_ms = NULL, last_agent_time = NULL";

/** Sets istate (and any of `extra`; a new secret_hash forgets the old agent's clock); returns false when the host does not exist. */
export async function setHostState(db: Db, rshost: string, istate: number, extra: HostUpdate = {}, nowMs = Date.now()): Promise<boolean> {
  const sets = ["istate = ?", "updated_at = ?"];
  const params: unknown[] = [istate, sqlTime(nowMs)];
  for (const k of UPDATABLE) {
    if (extra[k] === undefined) continue;
    sets.push(`${k} = ?`);
    params.push(extra[k]);
  }
  if (extra.secret_hash !== undefined && extra.clock_skew_ms === undefined) sets.push(FORGET_CLOCK);
  const r = await db.exec(`UPDATE tb_monitor_host_config SET ${sets.join(", ")} WHERE rshost = ?`, [...params, rshost]);
  if (r.affectedRows > 0) return true;
  // MySQL counts only changed rows; an unchanged existing row is still "found".
  return (await getHost(db, rshost)) !== undefined;
}

export interface ReportSeen {
  /** server clock, epoch ms */
  receivedAt: number;
  /** the report's `time` (agent clock) */
  agentTime: number;
  agentVersion: string;
  /** agent clock - server clock; undefined for spooled (replayed) reports, which say nothing about the clock now */
  clockSkewMs?: number;
}

/** Records an arrival: last_report_at and last_agent_time only move forward. */
export async function recordReportSeen(db: Db, rshost: string, seen: ReportSeen): Promise<void> {
  const skew = seen.clockSkewMs === undefined ? "clock_skew_ms" : "?";
  const params: unknown[] = [seen.receivedAt, seen.receivedAt, seen.agentTime, seen.agentTime, seen.agentVersion];
  if (seen.clockSkewMs !== undefined) params.push(Math.round(seen.clockSkewMs));
  await db.exec(
    `UPDATE tb_monitor_host_config SET
       last_report_at = CASE WHEN last_report_at IS NULL OR last_report_at < ? THEN ? ELSE last_report_at END,
       last_agent_time = CASE WHEN last_agent_time IS NULL OR last_agent_time < ? THEN ? ELSE last_agent_time END,
       agent_version = ?, clock_skew_ms = ${skew}
     WHERE rshost = ?`,
    [...params, rshost],
  );
}

/** Deletes the host row (after it was undeployed); returns false when there was none. */
export async function deleteHost(db: Db, rshost: string): Promise<boolean> {
  const r = await db.exec("DELETE FROM tb_monitor_host_config WHERE rshost = ?", [rshost]);
  return r.affectedRows > 0;
}
