// The host_config lifecycle as both `pmon enroll`/`pmon remove` and the server's manager loop record it:
// 1 → deploy → 2; 0 → remove → -1. A failed deployment stays at 1 and is retried with backoff; a
// rolled-back upgrade is running (2) on its old version with the reason in deploy_error.
import { PUBLIC_KEY_RE } from "../protocol/api.ts";
import type { Db } from "../store/db.ts";
import { setSecretHash } from "../store/fleet.ts";
import { getHost, ISTATE, setHostState } from "../store/hosts.ts";
import type { FleetStore } from "../deploy/deploy.ts";

/** How long one deployment may hold a host's row before another server may take over. */
export const DEPLOY_LEASE_MS = 30 * 60_000;

/** Retry delays of a failing deployment: base, 2×base, 4×base ... capped at an hour. */
export function retryDelayMs(failures: number, baseMs: number): number {
  return Math.min(3_600_000, baseMs * 2 ** Math.max(0, failures - 1));
}

/** After this many failures in a row a deployment raises an alert. */
export const ALERT_AFTER_FAILURES = 3;

export function dbFleetStore(db: Db, now: () => number = Date.now): FleetStore {
  return {
    async getHost(rshost) {
      const h = await getHost(db, rshost);
      if (!h) return undefined;
      // a value from before host keys (a secret's hash) is no pmon key: such hosts enroll as new ones
      return { istate: h.istate, publicKey: PUBLIC_KEY_RE.test(h.secret_hash) ? h.secret_hash : "", agentVersion: h.agent_version, lastReportAt: h.last_report_at };
    },
    async setPublicKey(rshost, publicKey) {
      await setSecretHash(db, rshost, publicKey, now());
    },
  };
}

export async function markDeployed(db: Db, rshost: string, previousVersion: string | undefined, nowMs = Date.now()): Promise<void> {
  await setHostState(db, rshost, ISTATE.running, {
    deploy_failures: 0,
    deploy_error: "",
    next_deploy_at: null,
    ...(previousVersion ? { previous_version: previousVersion } : {}),
  }, nowMs);
}

/** Records a failure and when to retry; returns the number of failures in a row. */
export async function markDeployFailed(db: Db, rshost: string, istate: number, error: string, retryBaseMs: number, nowMs = Date.now()): Promise<number> {
  const h = await getHost(db, rshost);
  const failures = (h?.deploy_failures ?? 0) + 1;
  await setHostState(db, rshost, istate, { deploy_failures: failures, deploy_error: error.slice(0, 2000), next_deploy_at: nowMs + retryDelayMs(failures, retryBaseMs) }, nowMs);
  return failures;
}

/** The host runs its previous version again: running, not retried, the reason shown by `pmon status`. */
export async function markRolledBack(db: Db, rshost: string, error: string, nowMs = Date.now()): Promise<void> {
  await setHostState(db, rshost, ISTATE.running, { deploy_error: error.slice(0, 2000), next_deploy_at: null }, nowMs);
}

/** Removal: no secret (so every report is refused) and istate -1. */
export async function markRemoved(db: Db, rshost: string, nowMs = Date.now()): Promise<void> {
  await setHostState(db, rshost, ISTATE.removed, { secret_hash: "", deploy_error: "", deploy_failures: 0, next_deploy_at: null }, nowMs);
}
