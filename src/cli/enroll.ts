import { defineCommand } from "citty";
import { loadReplyKey, replyKeyPath } from "../server/reply-key.ts";
import { registerHostWithSecret, writeSecretFile } from "../enroll/register.ts";
import { takeHost } from "../store/fleet.ts";
import { getHost, ISTATE } from "../store/hosts.ts";
import { DEPLOY_LEASE_MS } from "../enroll/lifecycle.ts";
import { mapBounded, ProgressLines } from "../enroll/parallel.ts";
import { deployAndRecord, type HostOutcome } from "../enroll/run.ts";
import { checkInstallDir } from "../enroll/units.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { HOST_RE } from "../protocol/report.ts";
import type { Db } from "../store/db.ts";
import { openStore } from "../store/open.ts";
import { renderOutcomes } from "../view/outcomes.ts";
import { asNumber, commonArgs, definedOnly, runCommand, sshArgs, storeAndSshOverrides, storeArgs, UserError } from "./_shared.ts";

export default defineCommand({
  meta: { name: "enroll", description: "Add hosts to the fleet: register each one and deploy the agent over ssh (or --no-deploy: just register)" },
  args: {
    ...commonArgs,
    host: { type: "positional", description: "Host names or addresses (as the agents will report), one or more", required: true },
    ...sshArgs,
    parallel: { type: "string", description: "Hosts deployed at once (deploy.parallel, default 10)" },
    servers: { type: "string", description: "Comma-separated server URLs the agents report to (deploy.servers, default server.url)" },
    "no-deploy": { type: "boolean", description: "Register the host in the store and write its secret; no ssh" },
    "secret-out": { type: "string", description: "With --no-deploy: file to write the host's secret to (mode 0600)" },
    ...storeArgs,
  },
  async run({ args }) {
    const overrides = definedOnly({
      ...storeAndSshOverrides(args),
      "deploy.parallel": asNumber(args.parallel),
      "deploy.servers": args.servers === undefined ? undefined : args.servers.split(",").map((s) => s.trim()).filter(Boolean),
    });
    await runCommand(args, overrides, async ({ config, log }) => {
      const hosts = [...new Set((args._ as string[]).length ? (args._ as string[]) : [args.host])];
      for (const h of hosts) if (!HOST_RE.test(h)) throw new UserError(`pmon enroll: not a valid host name or address: ${JSON.stringify(h)}`);
      // citty turns --no-deploy into deploy=false
      const noDeploy = args["no-deploy"] === true || (args as Record<string, unknown>).deploy === false;
      if (!noDeploy) {
        try {
          checkInstallDir(config.deploy.install_dir);
        } catch (e) {
          throw new UserError(`pmon enroll: ${(e as Error).message}`);
        }
      }
      const db = await open(config, log);
      try {
        if (noDeploy) return await registerOnly(db, hosts, args["secret-out"], config, log);
        return await enroll(db, hosts, config, log);
      } finally {
        await db.close();
      }
    });
  },
});

async function open(config: ResolvedConfig, log: Logger): Promise<Db> {
  try {
    return await openStore(config.server, log);
  } catch (e) {
    throw new UserError(`pmon enroll: cannot open the store: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** --no-deploy (hosts managed by other tools, and tests): register and write the secret. */
async function registerOnly(db: Db, hosts: string[], out: string | undefined, config: ResolvedConfig, log: Logger): Promise<number> {
  if (!out) throw new UserError("pmon enroll --no-deploy needs --secret-out FILE (where the host's secret is written)");
  if (hosts.length !== 1) throw new UserError("pmon enroll --no-deploy takes exactly one host (its secret goes to --secret-out)");
  const host = hosts[0]!;
  try {
    // the fleet reply key's public half goes next to the host's key: the agent pins it
    const replyKey = loadReplyKey(replyKeyPath(config.server), { create: true });
    const secret = await registerHostWithSecret(db, host);
    writeSecretFile(out, secret, [replyKey.publicKey]);
    log.info(`registered ${host} (istate 2, running; its agent is installed and upgraded by another tool, not pmon); its private key and the server key ${replyKey.publicKey} written to ${out}`);
  } catch (e) {
    throw new UserError(`pmon enroll: ${(e as Error).message}`);
  }
  return 0;
}

async function enroll(db: Db, hosts: string[], config: ResolvedConfig, log: Logger): Promise<number> {
  const elog = log.withTag("enroll");
  const progress = new ProgressLines((line) => elog.info(line), hosts.length);
  const outcomes = await mapBounded(hosts, config.deploy.parallel, async (rshost): Promise<HostOutcome> => {
    progress.update(rshost, "registering");
    try {
      // A new host gets its row (istate 1) at once; every host is then held by this command (a lease)
      // so a server's manager loop does not deploy it at the same time.
      if (!(await getHost(db, rshost))) await registerHostWithSecret(db, rshost, { istate: ISTATE.toDeploy, deployedByPmon: true });
      await takeHost(db, rshost, ISTATE.toDeploy, Date.now(), Date.now() + DEPLOY_LEASE_MS);
    } catch (e) {
      return { rshost, ok: false, state: "failed", detail: `cannot register in the store: ${(e as Error).message.split("\n")[0]}` };
    }
    const out = await deployAndRecord({ db, config, log }, { rshost, onStep: (h, step, detail) => progress.update(h, detail ? `${step} (${detail})` : step) });
    if (out.ok) progress.update(rshost, `running: ${out.detail}`);
    else elog.error(`${rshost}: ${out.detail}`);
    return out;
  });

  process.stdout.write(renderOutcomes(outcomes, process.stdout.isTTY === true));

  const failed = outcomes.filter((o) => !o.ok).length;
  if (failed > 0) {
    elog.error(`${failed} of ${outcomes.length} host(s) failed; failed deployments stay pending (istate 1) and a running server retries them`);
    return 1;
  }
  elog.success(`${outcomes.length} host(s) enrolled and reporting`);
  return 0;
}
