// The server's fleet manager: every server.manager_interval_s it reads tb_monitor_host_config like the
// old system (so `INSERT ... (rshost, istate) VALUES ('h4', 1)` still enrolls a host): istate 1 → deploy
// → 2, istate 0 → remove → -1. It runs beside ingest and alerts in its own async loop, with at most
// deploy.parallel deployments in flight, so a slow host never delays anything else. Rows are claimed
// with a lease, so with several servers on one database each host is deployed by one of them.
//
// At start, a server whose VERSION is newer than the newest pmon version in tb_monitor_version records it
// and marks every running host pmon deployed for redeployment (a rollout); an older server changes
// nothing (`pmon rollback` downgrades on purpose); hosts whose agent another tool
// installed (deployed_by_pmon = 0, `pmon enroll --no-deploy`) are upgraded by that tool, and their
// removal (istate 0) only revokes the secret, without ssh. The rollout stops by itself when more than
// deploy.rollout_max_failed_pct of its hosts fail or roll back.
import { notifyEvent, resolveEvent } from "../alerts/events.ts";
import type { FleetEventKind } from "../alerts/messages.ts";
import { notifierFromConfig, type Notifier } from "../alerts/notifier.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Runner } from "../deploy/ssh.ts";
import type { Logger } from "../log.ts";
import type { HostOutcome } from "../protocol/api.ts";
import type { Db } from "../store/db.ts";
import { claimHost, markAllForRedeploy, pendingHosts } from "../store/fleet.ts";
import { getHost, ISTATE, setHostState } from "../store/hosts.ts";
import { latestPmonVersion, recordVersion } from "../store/versions.ts";
import { compareVersions, isPmonVersion } from "../util/pmon-version.ts";
import { VERSION } from "../version.ts";
import { loopbackAgentServers } from "./service.ts";
import { HOST_RE } from "../protocol/report.ts";
import { deployAndRecord, removeAndRecord, type FleetEnv } from "./host-job.ts";
import { ALERT_AFTER_FAILURES, DEPLOY_LEASE_MS } from "./lifecycle.ts";
import { countFleetOutcome } from "./metrics.ts";

export interface ManagerContext {
  config: ResolvedConfig;
  log: Logger;
  db: Db;
}

export interface ManagerOptions {
  /** for tests: another ssh runner, notifier, clock */
  runner?: Runner;
  notifier?: Notifier;
  now?: () => number;
  version?: string;
  /** first retry delay of a failed deployment (default: the manager interval, at least 10 s) */
  retryBaseMs?: number;
}

/** Rollout bookkeeping: which hosts an upgrade redeploys and how many of them failed. */
export interface Rollout {
  version: string;
  hosts: Set<string>;
  done: Set<string>;
  failed: Set<string>;
  stopped: boolean;
}

/** Whether a rollout has failed on too many of its hosts (pure). */
export function rolloutShouldStop(r: Pick<Rollout, "hosts" | "failed">, maxFailedPct: number): boolean {
  if (r.hosts.size === 0) return false;
  return (r.failed.size * 100) / r.hosts.size > maxFailedPct;
}

/** The alert_info "host" of a stopped rollout. */
const ROLLOUT = "rollout";

/** When a row with an invalid host name is looked at again (it only changes when someone edits it). */
const BAD_NAME_RETRY_MS = 24 * 3_600_000;

/** How long a stop waits for deployments in flight before it leaves them to their leases. */
const STOP_GRACE_MS = 10_000;

/** Starts the loop; the returned function stops it (and resolves once it has stopped). */
export function startManager(ctx: ManagerContext, opts: ManagerOptions = {}): () => Promise<void> {
  const { config, db } = ctx;
  const now = opts.now ?? Date.now;
  const log = ctx.log.withTag("manager");
  const intervalMs = config.server.manager_interval_s * 1000;
  const parallel = config.deploy.parallel;
  const notifier = opts.notifier ?? notifierFromConfig(config, ctx.log);
  const version = opts.version ?? VERSION;
  const env: FleetEnv = { db, config, log: ctx.log, runner: opts.runner, now, retryBaseMs: opts.retryBaseMs ?? Math.max(intervalMs, 10_000) };
  const inFlight = new Map<string, Promise<void>>();
  let rollout: Rollout | undefined;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pass: Promise<void> = Promise.resolve();
  // Remote hosts this loop deploys (set by SQL, upgrades) would report to themselves: say so once, at start.
  const loopback = loopbackAgentServers(config);
  if (loopback.length > 0) log.warn(`agents this server deploys are told to report to ${loopback.join(", ")}, a loopback address: remote hosts would report to themselves; set deploy.servers`);

  // Deploy alerts are incidents in tb_monitor_alert_info: sent once (even with several servers) and
  // resolved with how long they lasted once the host deploys fine again.
  const events = { config, log: ctx.log, db, notifier };
  const fire = (host: string, kind: FleetEventKind, message: string) =>
    notifyEvent(events, { host, kind, message }).catch((e) => log.warn(`alert for ${host} not sent: ${(e as Error).message}`));
  const resolve = (host: string, kind: FleetEventKind) =>
    resolveEvent(events, { host, kind }).catch((e) => log.warn(`recovery for ${host} not sent: ${(e as Error).message}`));

  const finished = async (job: { rshost: string; istate: number; failuresBefore: number }, out: HostOutcome) => {
    countFleetOutcome(job.istate === ISTATE.toRemove ? "remove" : "deploy", out.state);
    if (out.ok) {
      log.info(`${out.rshost}: ${out.state}: ${out.detail}`);
      await resolve(out.rshost, "deploy_failed");
      await resolve(out.rshost, "rolled_back");
    } else if (out.state === "rolled back") {
      log.error(`${out.rshost}: ${out.detail}`);
      await fire(out.rshost, "rolled_back", out.detail);
    } else {
      log.warn(`${out.rshost}: ${out.state} (${out.failures ?? "?"} in a row): ${out.detail}`);
      // Alert once, when the third failure in a row makes it more than a glitch.
      if ((out.failures ?? 0) >= ALERT_AFTER_FAILURES) await fire(out.rshost, "deploy_failed", out.detail);
    }
    if (rollout && rollout.hosts.has(out.rshost) && job.istate === ISTATE.toDeploy) {
      rollout.done.add(out.rshost);
      if (!out.ok) rollout.failed.add(out.rshost);
      if (!rollout.stopped && rolloutShouldStop(rollout, config.deploy.rollout_max_failed_pct)) await stopRollout(rollout);
      if (rollout.done.size === rollout.hosts.size) {
        log.info(`rollout of ${rollout.version} finished: ${rollout.done.size - rollout.failed.size} of ${rollout.hosts.size} host(s) upgraded`);
        rollout = undefined;
      }
    }
  };

  /** Hosts of the rollout not yet started stay on their version: back to running, with the reason. */
  const stopRollout = async (r: Rollout) => {
    r.stopped = true;
    const reason = `rollout of ${r.version} stopped: ${r.failed.size} of ${r.hosts.size} host(s) failed (limit ${config.deploy.rollout_max_failed_pct} %)`;
    log.error(reason);
    for (const rshost of r.hosts) {
      if (r.done.has(rshost) || inFlight.has(rshost)) continue;
      const h = await getHost(db, rshost);
      if (h?.istate !== ISTATE.toDeploy) continue;
      // Claimed like a deployment, so no other server starts it while we put it back.
      if (!(await claimHost(db, rshost, ISTATE.toDeploy, now(), now() + DEPLOY_LEASE_MS))) continue;
      await setHostState(db, rshost, ISTATE.running, { deploy_error: reason, next_deploy_at: null }, now());
      r.done.add(rshost);
    }
    await fire(ROLLOUT, "deploy_failed", reason);
  };

  const startJob = (rshost: string, istate: number, failuresBefore: number) => {
    const job = { rshost, istate, failuresBefore };
    log.info(`${rshost}: ${istate === ISTATE.toDeploy ? "deploying" : "removing"}`);
    const run = istate === ISTATE.toDeploy ? deployAndRecord(env, { rshost }) : removeAndRecord(env, { rshost });
    const p = run
      .then((out) => (stopped ? undefined : finished(job, out)))
      .catch((e) => log.error(`${rshost}: ${(e as Error).message}`))
      .finally(() => {
        inFlight.delete(rshost);
      });
    inFlight.set(rshost, p);
  };

  const tick = async () => {
    try {
      const t = now();
      for (const h of await pendingHosts(db, t)) {
        if (stopped || inFlight.size >= parallel) break;
        if (inFlight.has(h.rshost)) continue;
        if (rollout?.stopped && rollout.hosts.has(h.rshost) && !rollout.done.has(h.rshost)) continue;
        if (!(await claimHost(db, h.rshost, h.istate, t, t + DEPLOY_LEASE_MS))) continue; // another server has it
        if (!HOST_RE.test(h.rshost)) {
          await refuseHostName(h.rshost, h.istate, t);
          continue;
        }
        startJob(h.rshost, h.istate, h.deploy_failures);
      }
    } catch (e) {
      log.warn(`manager pass failed: ${(e as Error).message}`);
    }
  };

  /** A row inserted by SQL with a name pmon must never pass to ssh: parked for a day with the reason. */
  const refuseHostName = async (rshost: string, istate: number, t: number) => {
    const reason = `not a valid host name or address: ${JSON.stringify(rshost.slice(0, 100))} (it must start with a letter or digit and hold only letters, digits, "." "_" "-" ":"); fix or delete this row`;
    log.error(reason);
    await setHostState(db, rshost, istate, { deploy_error: reason, next_deploy_at: t + BAD_NAME_RETRY_MS }, t);
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      pass = tick().finally(schedule);
    }, intervalMs);
  };

  const begin = async () => {
    try {
      rollout = await checkVersion();
      // A new rollout starts with a clean slate: the incident of a stopped earlier one is closed.
      if (rollout) await resolveEvent(events, { host: ROLLOUT, kind: "deploy_failed", quiet: true });
    } catch (e) {
      log.warn(`version check failed: ${(e as Error).message}`);
    }
    await tick();
  };

  /**
   * A newer server version: record it and redeploy every running host pmon deployed (legacy 2 → 1).
   * An older server leaves the fleet alone (a deliberate downgrade is `pmon rollback`).
   */
  const checkVersion = async (): Promise<Rollout | undefined> => {
    const latest = await latestPmonVersion(db);
    if (latest?.version === version) return undefined;
    if (!isPmonVersion(version)) {
      log.warn(`this server's version ${JSON.stringify(version)} is not a release version: no fleet rollout`);
      return undefined;
    }
    if (latest && compareVersions(version, latest.version) < 0) {
      log.warn(`the fleet runs pmon ${latest.version}, this server ${version}: an older server does not downgrade the fleet (to do that on purpose: pmon rollback)`);
      return undefined;
    }
    await recordVersion(db, version, now());
    // A database with no pmon version yet (new, or written by the old tool) has no agent deployed by
    // pmon: hosts registered with --no-deploy are installed by other tools, so there is nothing to roll out.
    if (!latest) {
      log.info(`recorded version ${version} (first pmon start on this database)`);
      return undefined;
    }
    const hosts = await markAllForRedeploy(db, now());
    log.info(`version ${latest.version} -> ${version}: redeploying ${hosts.length} running host(s) deployed by pmon, ${parallel} at a time`);
    return hosts.length ? { version, hosts: new Set(hosts), done: new Set(), failed: new Set(), stopped: false } : undefined;
  };

  pass = begin().finally(schedule);

  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await pass;
    // Deployments in flight hold their leases; if they outlive the server, the lease expires and the
    // host is picked up again. Wait a little so a clean stop usually finishes them, and clear the
    // timer either way so nothing keeps the process alive.
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(inFlight.values()), new Promise<void>((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS)))]);
    clearTimeout(grace);
  };
}
