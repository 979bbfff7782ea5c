// One host's deployment or removal plus what it means for the store: the piece `pmon enroll`,
// `pmon remove` and the server's manager loop share (through src/fleet/service.ts and manager.ts). Never throws: every outcome is a result.
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { HostOutcome } from "../protocol/api.ts";
import type { Db } from "../store/db.ts";
import { setDeployedByPmon } from "../store/fleet.ts";
import { getHost, ISTATE, setHostState } from "../store/hosts.ts";
import { loadReplyKey, replyKeyPath } from "../keys/reply-key.ts";
import { COMMIT, VERSION } from "../version.ts";
import { deployHost, undeployHost, type DeployStep } from "../deploy/deploy.ts";
import { dbFleetStore, markDeployed, markDeployFailed, markRemoved, markRolledBack } from "./lifecycle.ts";
import { DeployError, sshTarget, type DeployErrorKind, type Runner, type SshTarget } from "../deploy/ssh.ts";

export interface FleetEnv {
  db: Db;
  config: ResolvedConfig;
  log: Logger;
  /** the binary to ship (process.execPath) and its version */
  binaryPath?: string;
  version?: string;
  versionLine?: string;
  runner?: Runner;
  /** first retry delay of a failed deployment */
  retryBaseMs?: number;
  /** the clock of the rows it writes: retry times and timestamps (default Date.now) */
  now?: () => number;
}

export interface HostJob {
  rshost: string;
  /** replace the host's key even when it holds one and reported recently (pmon enroll --rekey) */
  rekey?: boolean;
  target?: Partial<SshTarget>;
  installDir?: string;
  onStep?: (rshost: string, step: DeployStep, detail?: string) => void;
  /** remove only: mark the host removed even when the clean-up over ssh fails, and say what was left */
  force?: boolean;
}

const DEFAULT_RETRY_BASE_MS = 30_000;

function failure(e: unknown, log: Logger): { kind: DeployErrorKind | "internal"; message: string } {
  if (e instanceof DeployError) return { kind: e.kind, message: e.message };
  log.debug(e);
  return { kind: "internal", message: (e as Error)?.message?.split("\n")[0] ?? String(e) };
}

/**
 * Deploys `rshost` (which must exist in the store) and records running / failed / rolled back. A host
 * pmon deploys is pmon's from then on (deployed_by_pmon = 1), even one first registered with --no-deploy.
 */
export async function deployAndRecord(env: FleetEnv, job: HostJob): Promise<HostOutcome> {
  const { db, config, log } = env;
  const now = env.now ?? Date.now;
  const version = env.version ?? VERSION;
  try {
    await setDeployedByPmon(db, job.rshost, true, now());
    const result = await deployHost(
      {
        config,
        store: dbFleetStore(db, now),
        log,
        binaryPath: env.binaryPath ?? process.execPath,
        version,
        versionLine: env.versionLine ?? `${VERSION} (${COMMIT})`,
        // agents pin the fleet reply key the servers sign with
        serverKeys: [loadReplyKey(replyKeyPath(config.server), { create: true }).publicKey],
        runner: env.runner,
        onStep: job.onStep,
      },
      { rshost: job.rshost, target: sshTarget(job.rshost, config.deploy, job.target), installDir: job.installDir ?? config.deploy.install_dir, rekey: job.rekey },
    );
    await markDeployed(db, job.rshost, result.previousVersion, now());
    const copied = `binary copied: ${(result.bytesSent / 1e6).toFixed(1)} MB sent${result.codec && result.codec !== "none" ? ` (${result.codec})` : ""}`;
    const how = `${result.systemd ? "systemd" : "supervisor"}, ${result.copied ? copied : "binary already current"}`;
    const detail = `reported after ${(result.reportedAfterMs / 1000).toFixed(1)} s (${how})${result.legacyTakeover ? `; ${result.legacyTakeover}` : ""}`;
    return { rshost: job.rshost, ok: true, state: "running", detail, version, previousVersion: result.previousVersion };
  } catch (e) {
    const f = failure(e, log);
    try {
      if (f.kind === "rekey-refused") {
        // nothing was changed on the host: it keeps running and reporting as before
        await setHostState(db, job.rshost, ISTATE.running, { next_deploy_at: null }, now());
        return { rshost: job.rshost, ok: false, state: "failed", detail: f.message, kind: f.kind };
      }
      if (f.kind === "rolled-back") {
        await markRolledBack(db, job.rshost, f.message, now());
        return { rshost: job.rshost, ok: false, state: "rolled back", detail: f.message, kind: f.kind };
      }
      const failures = await markDeployFailed(db, job.rshost, ISTATE.toDeploy, f.message, env.retryBaseMs ?? DEFAULT_RETRY_BASE_MS, now());
      return { rshost: job.rshost, ok: false, state: "failed", detail: f.message, kind: f.kind, failures };
    } catch (storeError) {
      return { rshost: job.rshost, ok: false, state: "failed", detail: `${f.message} (and recording it failed: ${(storeError as Error).message})`, kind: f.kind };
    }
  }
}

/**
 * Removes `rshost`: its secret is dropped first (so the server refuses its reports at once), then the
 * agent is stopped and its files deleted, then istate -1. If the host cannot be reached it stays at 0
 * and the manager retries the clean-up. A host whose agent another tool installed (deployed_by_pmon = 0)
 * gets no ssh: its secret is revoked and it is marked removed; that tool must stop its agent.
 */
export async function removeAndRecord(env: FleetEnv, job: HostJob): Promise<HostOutcome> {
  const { db, config, log } = env;
  const now = env.now ?? Date.now;
  try {
    const host = await getHost(db, job.rshost);
    if (host && !host.deployed_by_pmon) {
      await markRemoved(db, job.rshost, now());
      return { rshost: job.rshost, ok: true, state: "removed", detail: "secret revoked; its agent was installed by another tool, which must stop it (no ssh)" };
    }
    await undeployHost(
      { runner: env.runner, onStep: job.onStep },
      { rshost: job.rshost, target: sshTarget(job.rshost, config.deploy, job.target), installDir: job.installDir ?? config.deploy.install_dir },
    );
    await markRemoved(db, job.rshost, now());
    return { rshost: job.rshost, ok: true, state: "removed", detail: "agent stopped, files and secret deleted" };
  } catch (e) {
    const f = failure(e, log);
    const message = `removal failed: ${f.message}`;
    if (job.force) {
      // The secret is revoked already (the server refuses the host's reports); what is left on the host is named.
      const dir = job.installDir ?? config.deploy.install_dir;
      try {
        await markRemoved(db, job.rshost, now());
      } catch (storeError) {
        return { rshost: job.rshost, ok: false, state: "remove failed", detail: `${message}; marking it removed failed too: ${(storeError as Error).message.split("\n")[0]}`, kind: f.kind };
      }
      return {
        rshost: job.rshost,
        ok: true,
        state: "removed",
        detail: `secret revoked and marked removed (--force), but NOT cleaned up: ${f.message}. If the host comes back, stop its agent (systemctl disable --now pmon-agent, or kill pmon supervise) and delete ${dir}`,
        kind: f.kind,
      };
    }
    try {
      const failures = await markDeployFailed(db, job.rshost, ISTATE.toRemove, message, env.retryBaseMs ?? DEFAULT_RETRY_BASE_MS, now());
      return { rshost: job.rshost, ok: false, state: "remove failed", detail: message, kind: f.kind, failures };
    } catch {
      return { rshost: job.rshost, ok: false, state: "remove failed", detail: message, kind: f.kind };
    }
  }
}
