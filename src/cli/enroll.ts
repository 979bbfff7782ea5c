import { defineCommand } from "citty";
import { stdout } from "../util/output.ts";
import { checkAgentServers, checkDeployConfig, checkHostNames, FleetRequestError, openFleet, type Fleet } from "../fleet/service.ts";
import type { Logger } from "../log.ts";
import { renderOutcomes } from "../view/outcomes.ts";
import { ProgressLines } from "../view/progress.ts";
import { EXIT } from "./exit-codes.ts";
import { asNumber, commonArgs, definedOnly, runWithConfig, sshArgs, storeAndSshOverrides, storeArgs, UserError, wantColour } from "./_shared.ts";

export default defineCommand({
  meta: { name: "enroll", description: "Add hosts to the fleet: register each one and deploy the agent over ssh (or --no-deploy: just register)" },
  args: {
    ...commonArgs,
    host: { type: "positional", description: "Host names or addresses (as the agents will report), one or more", required: true, valueHint: "HOST..." },
    ...sshArgs,
    parallel: { type: "string", description: "Hosts deployed at once (deploy.parallel, default 10)" },
    servers: { type: "string", description: "Comma-separated server URLs the agents report to (deploy.servers, default server.url)" },
    "no-deploy": { type: "boolean", description: "Register the host in the store and write its key file; no ssh" },
    "secret-out": { type: "string", description: "With --no-deploy: file to write the host's private key and the pinned server key to (mode 0600)" },
    rekey: { type: "boolean", description: "Replace the key of a host that holds one and reported recently (otherwise refused)" },
    ...storeArgs,
  },
  async run({ args }) {
    const overrides = definedOnly({
      ...storeAndSshOverrides(args),
      "deploy.parallel": asNumber(args.parallel),
      "deploy.servers": args.servers === undefined ? undefined : args.servers.split(",").map((s) => s.trim()).filter(Boolean),
    });
    await runWithConfig(args, overrides, async ({ config, log }) => {
      const given = (args._ as string[]).length ? (args._ as string[]) : [args.host];
      // citty turns --no-deploy into deploy=false
      const noDeploy = args["no-deploy"] === true || (args as Record<string, unknown>).deploy === false;
      let fleet: Fleet | undefined;
      try {
        const hosts = checkHostNames(given);
        if (noDeploy) checkRegisterOnly(hosts, args["secret-out"]);
        else {
          checkDeployConfig(config);
          checkAgentServers(config, hosts);
        }
        fleet = await openFleet(config, log);
        if (noDeploy) {
          await fleet.registerExternal(hosts[0]!, args["secret-out"]!, { rekey: args.rekey === true });
          log.info(`registered ${hosts[0]} (istate 2, running; its agent is installed and upgraded by another tool, not pmon); its private key and the server key written to ${args["secret-out"]}`);
          return 0;
        }
        return await enroll(fleet, hosts, log, args.rekey === true);
      } catch (e) {
        if (e instanceof UserError) throw e;
        if (e instanceof FleetRequestError) throw new UserError(`pmon enroll: ${e.message}`, e.reason === "store" ? EXIT.SERVER_DOWN : EXIT.USAGE);
        if (noDeploy) throw new UserError(`pmon enroll: ${(e as Error).message}`);
        throw e;
      } finally {
        await fleet?.close();
      }
    });
  },
});

/** --no-deploy (hosts managed by other tools, and tests) registers one host and writes its secret. */
function checkRegisterOnly(hosts: string[], out: string | undefined): void {
  if (!out) throw new UserError("pmon enroll --no-deploy needs --secret-out FILE (where the host's secret is written)", EXIT.USAGE);
  if (hosts.length !== 1) throw new UserError("pmon enroll --no-deploy takes exactly one host (its secret goes to --secret-out)", EXIT.USAGE);
}

async function enroll(fleet: Fleet, hosts: string[], log: Logger, rekey: boolean): Promise<number> {
  const elog = log.withTag("enroll");
  const progress = new ProgressLines((line) => elog.info(line), hosts.length);
  const outcomes = await fleet.enroll(hosts, (h, text) => progress.update(h, text), { rekey });
  for (const o of outcomes) if (!o.ok) elog.error(`${o.rshost}: ${o.detail}`);
  stdout().write(renderOutcomes(outcomes, wantColour()));
  const failed = outcomes.filter((o) => !o.ok).length;
  if (failed > 0) {
    elog.error(`${failed} of ${outcomes.length} host(s) failed; failed deployments stay pending (istate 1) and a running server retries them`);
    return 1;
  }
  elog.success(`${outcomes.length} host(s) enrolled and reporting`);
  return 0;
}
