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
import { renderTable } from "../view/table.ts";
import { commonArgs, definedOnly, runCommand, UserError } from "./_shared.ts";

/** "22" → 22; anything else stays a string so the config check names what was given. */
const asNumber = (v: string | undefined) => (v === undefined ? undefined : /^\d+$/.test(v.trim()) ? Number(v) : v);

export default defineCommand({
  meta: { name: "remove", description: "Take hosts out of the fleet: stop and disable the agent, delete its files and secret, refuse its reports (hosts registered with --no-deploy: revoke the secret only, no ssh)" },
  args: {
    ...commonArgs,
    host: { type: "positional", description: "Host names or addresses as enrolled, one or more", required: true },
    "ssh-user": { type: "string", description: "ssh user (deploy.ssh_user)" },
    "ssh-port": { type: "string", description: "ssh port (deploy.ssh_port)" },
    identity: { type: "string", description: "ssh private key file (deploy.identity)" },
    "known-hosts": { type: "string", description: "known_hosts file (deploy.known_hosts)" },
    "install-dir": { type: "string", description: "Where the agent lives on the hosts (deploy.install_dir)" },
    storage: { type: "string", description: "mysql://user:pass@host:port/db or sqlite:PATH (server.storage)" },
    "data-dir": { type: "string", description: "server.data_dir (where the default SQLite store lives)" },
  },
  async run({ args }) {
    const overrides = definedOnly({
      "server.storage": args.storage,
      "server.data_dir": args["data-dir"],
      "deploy.ssh_user": args["ssh-user"],
      "deploy.ssh_port": asNumber(args["ssh-port"]),
      "deploy.identity": args.identity,
      "deploy.known_hosts": args["known-hosts"],
      "deploy.install_dir": args["install-dir"],
    });
    await runCommand(args, overrides, async ({ config, log }) => {
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
  process.stdout.write(
    renderTable(
      [
        { title: "HOST", text: (o: HostOutcome) => o.rshost },
        { title: "RESULT", text: (o: HostOutcome) => o.state, colour: (o: HostOutcome) => (o.ok ? "green" : "red") },
        { title: "DETAIL", text: (o: HostOutcome) => o.detail },
      ],
      outcomes,
      { colour: process.stdout.isTTY === true },
    ),
  );
  const failed = outcomes.filter((o) => !o.ok).length;
  if (failed > 0) {
    rlog.error(`${failed} host(s) could not be cleaned up; their reports are refused already, and a running server retries the clean-up`);
    return 1;
  }
  return 0;
}
