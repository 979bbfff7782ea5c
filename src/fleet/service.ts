// The fleet service of `pmon enroll` and `pmon remove`: batches of hosts, at most deploy.parallel at a
// time, each held by a lease so a server's manager loop does not act on it meanwhile, each ending in a
// HostOutcome. The server's manager loop (manager.ts) runs the same per-host jobs (host-job.ts).
import { hostname } from "node:os";
import { agentServers } from "../deploy/agent-config.ts";
import { checkInstallDir } from "../deploy/units.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { HostOutcome } from "../protocol/api.ts";
import { HOST_RE } from "../protocol/report.ts";
import { PUBLIC_KEY_RE } from "../protocol/api.ts";
import type { Db } from "../store/db.ts";
import { markAllForRedeploy, setSecretHash, takeHost } from "../store/fleet.ts";
import { latestPmonVersion, recordVersion } from "../store/versions.ts";
import { isPmonVersion } from "../util/pmon-version.ts";
import { getHost, ISTATE } from "../store/hosts.ts";
import { openStore } from "../store/open.ts";
import { mapBounded } from "../util/parallel.ts";
import { loadReplyKey, replyKeyPath } from "../keys/reply-key.ts";
import { deployAndRecord, removeAndRecord, type FleetEnv } from "./host-job.ts";
import { DEPLOY_LEASE_MS } from "./lifecycle.ts";
import { registerHostWithSecret, writeSecretFile } from "./register.ts";

/** A request the fleet refuses before touching any host (bad name, unknown host, bad install dir). */
export class FleetRequestError extends Error {
  override name = "FleetRequestError";
  constructor(
    message: string,
    /** "request": the command line or config is wrong; "store": the store cannot be reached */
    readonly reason: "request" | "store" = "request",
  ) {
    super(message);
  }
}

/** One line of progress: which host is at which step (failures are in the outcomes). */
export type OnProgress = (rshost: string, text: string) => void;

export interface Fleet {
  readonly db: Db;
  /** registers new hosts (istate 1) and deploys every host of `hosts` */
  enroll(hosts: readonly string[], onProgress?: OnProgress, opts?: { rekey?: boolean }): Promise<HostOutcome[]>;
  /** revokes the hosts' secrets at once, then removes their agents (force: marks them removed even when that fails) */
  remove(hosts: readonly string[], onProgress?: OnProgress, opts?: { force?: boolean }): Promise<HostOutcome[]>;
  /** registers a host whose agent another tool installs (no ssh) and writes its secret file */
  registerExternal(rshost: string, secretFile: string, opts?: { rekey?: boolean }): Promise<void>;
  /** makes `version` the fleet's version even when older, and marks hosts pmon deployed for redeployment */
  rollback(version: string): Promise<{ from: string | undefined; hosts: number }>;
  close(): Promise<void>;
}

/** Opens the store and returns the fleet over it; throws FleetRequestError when the store cannot be opened. */
export async function openFleet(config: ResolvedConfig, log: Logger): Promise<Fleet> {
  let db: Db;
  try {
    db = await openStore(config.server, log);
  } catch (e) {
    throw new FleetRequestError(`cannot open the store: ${(e as Error).message.split("\n")[0]}`, "store");
  }
  return fleetOver({ db, config, log });
}

/** Host names as given, deduplicated; throws FleetRequestError on one that is not a host name or address. */
export function checkHostNames(hosts: readonly string[]): string[] {
  for (const h of hosts) if (!HOST_RE.test(h)) throw new FleetRequestError(`not a valid host name or address: ${JSON.stringify(h)}`);
  return [...new Set(hosts)];
}

/** Throws FleetRequestError when deploy.install_dir is not a directory pmon may own. */
export function checkDeployConfig(config: ResolvedConfig): void {
  try {
    checkInstallDir(config.deploy.install_dir);
  } catch (e) {
    throw new FleetRequestError((e as Error).message);
  }
}

const isLoopbackName = (h: string) => /^(localhost|localhost\.localdomain|ip6-localhost)$/i.test(h) || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "::1" || h === "[::1]";

/** The addresses agents get (deploy.servers, else server.url) that are loopback: useless on any other host. */
export function loopbackAgentServers(config: ResolvedConfig): string[] {
  return agentServers(config).filter((u) => {
    try {
      return isLoopbackName(new URL(u).hostname);
    } catch {
      return false;
    }
  });
}

/**
 * Throws FleetRequestError when agents on remote hosts would report to a loopback address (server.url
 * defaults to http://127.0.0.1:9300): each would talk to itself and never report.
 */
export function checkAgentServers(config: ResolvedConfig, hosts: readonly string[]): void {
  const remote = hosts.filter((h) => !isLoopbackName(h) && h !== hostname());
  const loopback = loopbackAgentServers(config);
  if (remote.length === 0 || loopback.length === 0) return;
  const source = config.deploy.servers.length > 0 ? "deploy.servers" : "server.url (deploy.servers is empty)";
  throw new FleetRequestError(
    `the agents on ${remote.join(", ")} would report to ${loopback.join(", ")} (from ${source}), a loopback address: on each host that is the host itself. ` +
      `Set deploy.servers to an address of this server that the hosts can reach, e.g. --servers http://10.0.0.1:9300 or [deploy] servers = ["http://10.0.0.1:9300"]`,
  );
}

function fleetOver(env: FleetEnv): Fleet {
  const { db, config } = env;
  const now = env.now ?? Date.now;
  const lease = () => now() + DEPLOY_LEASE_MS;

  return {
    db,
    async enroll(given, onProgress = () => {}, opts = {}) {
      const hosts = checkHostNames(given);
      checkDeployConfig(config);
      checkAgentServers(config, hosts);
      return mapBounded(hosts, config.deploy.parallel, async (rshost): Promise<HostOutcome> => {
        onProgress(rshost, "registering");
        try {
          // A new host gets its row (istate 1) at once; every host is then held by this command (a lease)
          // so a server's manager loop does not deploy it at the same time.
          if (!(await getHost(db, rshost))) await registerHostWithSecret(db, rshost, { istate: ISTATE.toDeploy, deployedByPmon: true });
          await takeHost(db, rshost, ISTATE.toDeploy, now(), lease());
        } catch (e) {
          return { rshost, ok: false, state: "failed", detail: `cannot register in the store: ${(e as Error).message.split("\n")[0]}` };
        }
        const out = await deployAndRecord(env, { rshost, rekey: opts.rekey, onStep: (h, step, detail) => onProgress(h, detail ? `${step} (${detail})` : step) });
        if (out.ok) onProgress(rshost, `running: ${out.detail}`);
        return out;
      });
    },

    async remove(given, onProgress = () => {}, opts = {}) {
      const hosts = [...new Set(given)];
      checkDeployConfig(config);
      for (const h of hosts) if (!(await getHost(db, h))) throw new FleetRequestError(`${h} is not enrolled`);
      return mapBounded(hosts, config.deploy.parallel, async (rshost): Promise<HostOutcome> => {
        onProgress(rshost, "revoking its secret");
        try {
          // Revoked before anything else: from here on the server refuses the host's reports (istate 0, no secret).
          await takeHost(db, rshost, ISTATE.toRemove, now(), lease());
          await setSecretHash(db, rshost, "", now());
        } catch (e) {
          return { rshost, ok: false, state: "remove failed", detail: `cannot revoke in the store: ${(e as Error).message.split("\n")[0]}` };
        }
        const out = await removeAndRecord(env, { rshost, onStep: (h, step) => onProgress(h, step), force: opts.force });
        if (out.ok) onProgress(rshost, "removed");
        return out;
      });
    },

    async registerExternal(rshost, secretFile, opts = {}) {
      checkHostNames([rshost]);
      const existing = await getHost(db, rshost);
      const sinceMs = existing?.last_report_at == null ? Infinity : now() - existing.last_report_at;
      if (!opts.rekey && existing && existing.istate > 0 && PUBLIC_KEY_RE.test(existing.secret_hash) && sinceMs < config.alerts.silent_after_s * 1000) {
        throw new FleetRequestError(`${rshost} holds a pmon key and reported ${Math.round(sinceMs / 1000)} s ago: a new key would drop its running agent's reports; add --rekey to replace it`);
      }
      // the fleet reply key's public half goes next to the host's private key: the agent pins it
      const replyKey = loadReplyKey(replyKeyPath(config.server), { create: true });
      const secret = await registerHostWithSecret(db, rshost);
      writeSecretFile(secretFile, secret, [replyKey.publicKey]);
    },

    async rollback(version) {
      if (!isPmonVersion(version)) throw new FleetRequestError(`this binary's version ${JSON.stringify(version)} is not a release version`);
      const from = (await latestPmonVersion(db))?.version;
      await recordVersion(db, version, now());
      return { from, hosts: (await markAllForRedeploy(db, now())).length };
    },

    close: () => db.close(),
  };
}
