import { defineCommand } from "citty";
import type { ResolvedConfig } from "../config/schema.ts";
import { DEPLOY_LEASE_MS } from "../enroll/lifecycle.ts";
import { mapBounded, ProgressLines } from "../enroll/parallel.ts";
import { removeAndRecord, type HostOutcome } from "../enroll/run.ts";
import { checkInstallDir } from "../enroll/units.ts";
import type { Logger } from "../log.ts";
import { setSecretHash, takeHost } from "../store/fleet.ts";
import { getHost, ISTATE } from "../store/hosts.ts";
import { openStore } from "../store/open.ts";
import { renderOutcomes } from "../view/outcomes.ts";
import { commonArgs, runWithConfig, sshArgs, storeAndSshOverrides, storeArgs, UserError } from "./_shared.ts";

export default defineCommand({
  meta: { name: "remove", description: "Take hosts out of the fleet: stop and disable the agent, delete its files and secret, refuse its reports (hosts registered with --no-deploy: revoke the secret only, no ssh)" },
  args: {
    ...commonArgs,
    host: { type: "positional", description: "Host names or addresses as enrolled, one or more", required: true, valueHint: "HOST..." },
    ...sshArgs,
    ...storeArgs,
  },
  async run({ args }) {
    const overrides = storeAndSshOverrides(args);
    await runWithConfig(args, overrides, async ({ config, log }) => {
      const hosts = [...new Set((args._ as string[]).length ? (args._ as string[]) : [args.host])];
      try {
        checkInstallDir(config.deploy.install_dir);
      } catch (e) {
        throw new UserError(`pmon remove: ${(e as Error).message}`);
      }
      let db;
      try {
        db = await openStore(config.server, log);
      } catch (e) {
        throw new UserError(`pmon remove: cannot open the store: ${(e as Error).message.split("\n")[0]}`);
      }
      try {
        for (const h of hosts) if (!(await getHost(db, h))) throw new UserError(`pmon remove: ${h} is not enrolled`);
        return await remove(db, hosts, config, log);
      } finally {
        await db.close();
      }
    });
  },
});

async function remove(db: Awaited<ReturnType<typeof openStore>>, hosts: string[], config: ResolvedConfig, log: Logger): Promise<number> {
  const rlog = log.withTag("remove");
  const progress = new ProgressLines((line) => rlog.info(line), hosts.length);
  const outcomes = await mapBounded(hosts, config.deploy.parallel, async (rshost): Promise<HostOutcome> => {
    progress.update(rshost, "revoking its secret");
    // Revoked before anything else: from here on the server refuses the host's reports (istate 0, no secret).
    await takeHost(db, rshost, ISTATE.toRemove, Date.now(), Date.now() + DEPLOY_LEASE_MS);
    await setSecretHash(db, rshost, "", Date.now());
    const out = await removeAndRecord({ db, config, log }, { rshost, onStep: (h, step) => progress.update(h, step) });
    if (out.ok) progress.update(rshost, "removed");
    else rlog.error(`${rshost}: ${out.detail}`);
    return out;
  });
  process.stdout.write(renderOutcomes(outcomes, process.stdout.isTTY === true));

  const failed = outcomes.filter((o) => !o.ok).length;
  if (failed > 0) {
    rlog.error(`${failed} host(s) could not be cleaned up; their reports are refused already, and a running server retries the clean-up`);
    return 1;
  }
  return 0;
}
