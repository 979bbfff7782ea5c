import { defineCommand } from "citty";
import { checkDeployConfig, FleetRequestError, openFleet, type Fleet } from "../fleet/service.ts";
import { renderOutcomes } from "../view/outcomes.ts";
import { ProgressLines } from "../view/progress.ts";
import { commonArgs, runWithConfig, sshArgs, storeAndSshOverrides, storeArgs, UserError } from "./_shared.ts";

export default defineCommand({
  meta: { name: "remove", description: "Take hosts out of the fleet: stop and disable the agent, delete its files and secret, refuse its reports (hosts registered with --no-deploy: revoke the secret only, no ssh)" },
  args: {
    ...commonArgs,
    host: { type: "positional", description: "Host names or addresses as enrolled, one or more", required: true },
    ...sshArgs,
    ...storeArgs,
  },
  async run({ args }) {
    const overrides = storeAndSshOverrides(args);
    await runWithConfig(args, overrides, async ({ config, log }) => {
      const hosts = [...new Set((args._ as string[]).length ? (args._ as string[]) : [args.host])];
      const rlog = log.withTag("remove");
      let fleet: Fleet | undefined;
      try {
        checkDeployConfig(config);
        fleet = await openFleet(config, log);
        const progress = new ProgressLines((line) => rlog.info(line), hosts.length);
        const outcomes = await fleet.remove(hosts, (h, text) => progress.update(h, text));
        for (const o of outcomes) if (!o.ok) rlog.error(`${o.rshost}: ${o.detail}`);
        process.stdout.write(renderOutcomes(outcomes, process.stdout.isTTY === true));
        const failed = outcomes.filter((o) => !o.ok).length;
        if (failed > 0) {
          rlog.error(`${failed} host(s) could not be cleaned up; their reports are refused already, and a running server retries the clean-up`);
          return 1;
        }
        return 0;
      } catch (e) {
        if (e instanceof FleetRequestError) throw new UserError(`pmon remove: ${e.message}`);
        throw e;
      } finally {
        await fleet?.close();
      }
    });
  },
});
