// Queries of the fleet (src/fleet/) on tb_monitor_host_config. A deployment
// claims its row by pushing next_deploy_at into the future (a lease): with several servers on one
// database only the UPDATE that changed the row deploys, and a crashed server's lease simply expires.
import { sqlTime, type Db } from "./db.ts";
import { FORGET_CLOCK, ISTATE } from "./hosts.ts";

export interface PendingHost {
  rshost: string;
  /** 1 = to deploy, 0 = to remove */
  istate: number;
  deploy_failures: number;
}

/** Rows the manager should act on now: istate 1 or 0, not leased and not waiting for a retry. */
export async function pendingHosts(db: Db, nowMs: number): Promise<PendingHost[]> {
  const rows = await db.query<{ rshost: string; istate: number; deploy_failures: number }>(
    `SELECT rshost, istate, deploy_failures FROM tb_monitor_host_config
     WHERE istate IN (?, ?) AND (next_deploy_at IS NULL OR next_deploy_at <= ?) ORDER BY rshost`,
    [ISTATE.toDeploy, ISTATE.toRemove, nowMs],
  );
  return rows.map((r) => ({ rshost: String(r.rshost), istate: Number(r.istate), deploy_failures: Number(r.deploy_failures ?? 0) }));
}

/** Takes the row for one deployment (or removal) until `leaseUntil`; false when another server has it. */
export async function claimHost(db: Db, rshost: string, istate: number, nowMs: number, leaseUntil: number): Promise<boolean> {
  const r = await db.exec(
    `UPDATE tb_monitor_host_config SET next_deploy_at = ?, updated_at = ?
     WHERE rshost = ? AND istate = ? AND (next_deploy_at IS NULL OR next_deploy_at <= ?)`,
    [leaseUntil, sqlTime(nowMs), rshost, istate, nowMs],
  );
  return r.affectedRows === 1;
}

/** `pmon enroll` / `pmon remove` on the command line: the operator's request wins over any lease. */
export async function takeHost(db: Db, rshost: string, istate: number, nowMs: number, leaseUntil: number): Promise<boolean> {
  const r = await db.exec("UPDATE tb_monitor_host_config SET istate = ?, next_deploy_at = ?, updated_at = ? WHERE rshost = ?", [
    istate,
    leaseUntil,
    sqlTime(nowMs),
    rshost,
  ]);
  return r.affectedRows === 1;
}

/** Replaces the host's secret hash (and forgets the old agent's clock); istate and the lease stay as they are. */
export async function setSecretHash(db: Db, rshost: string, secretHash: string, nowMs: number): Promise<void> {
  await db.exec(`UPDATE tb_monitor_host_config SET secret_hash = ?, ${FORGET_CLOCK}, updated_at = ? WHERE rshost = ?`, [secretHash, sqlTime(nowMs), rshost]);
}

/** Records who installs the host's agent: pmon over ssh (true) or another tool (false, `enroll --no-deploy`). */
export async function setDeployedByPmon(db: Db, rshost: string, deployedByPmon: boolean, nowMs: number): Promise<void> {
  await db.exec("UPDATE tb_monitor_host_config SET deployed_by_pmon = ?, updated_at = ? WHERE rshost = ?", [deployedByPmon ? 1 : 0, sqlTime(nowMs), rshost]);
}

/**
 * Upgrade: every running host pmon deployed is to be deployed again (legacy 2 → 1). Hosts whose agent
 * another tool installed are left alone: that tool upgrades them. Returns the hosts marked.
 */
export async function markAllForRedeploy(db: Db, nowMs: number): Promise<string[]> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ rshost: string }>(
      "SELECT rshost FROM tb_monitor_host_config WHERE istate = ? AND deployed_by_pmon = 1 ORDER BY rshost",
      [ISTATE.running],
    );
    await tx.exec("UPDATE tb_monitor_host_config SET istate = ?, next_deploy_at = NULL, updated_at = ? WHERE istate = ? AND deployed_by_pmon = 1", [
      ISTATE.toDeploy,
      sqlTime(nowMs),
      ISTATE.running,
    ]);
    return rows.map((r) => String(r.rshost));
  });
}
