import { defineCommand } from "citty";
import { stdout } from "../util/output.ts";
import { checkDeployConfig, FleetRequestError, openFleet, type Fleet } from "../fleet/service.ts";
import { renderOutcomes } from "../view/outcomes.ts";
import { ProgressLines } from "../view/progress.ts";
import { commonArgs, runWithConfig, sshArgs, storeAndSshOverrides, storeArgs, UserError, wantColour } from "./_shared.ts";
import { EXIT } from "./exit-codes.ts";

export default defineCommand({
  meta: { name: "remove", description: "Take hosts out of the fleet: stop and disable the agent, delete its files and secret, refuse its reports (hosts registered with --no-deploy: revoke the secret only, no ssh)" },
  args: {
    ...commonArgs,
    host: { type: "positional", description: "Host names or addresses as enrolled, one or more", required: true, valueHint: "HOST..." },
    force: { type: "boolean", description: "Mark the hosts removed even when the clean-up over ssh fails (a host that never deployed, or is gone); says what was left on each" },
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
        const outcomes = await fleet.remove(hosts, (h, text) => progress.update(h, text), { force: args.force === true });
        for (const o of outcomes) {
          if (!o.ok) rlog.error(`${o.rshost}: ${o.detail}`);
          else if (o.kind !== undefined) rlog.warn(`${o.rshost}: ${o.detail}`); // --force: removed, with leftovers named
        }
        stdout().write(renderOutcomes(outcomes, wantColour()));
        const failed = outcomes.filter((o) => !o.ok).length;
        if (failed > 0) {
          rlog.error(
            `${failed} host(s) could not be cleaned up; their reports are refused already, and a running server retries the clean-up ` +
              `(a host that is gone for good or never had the agent: pmon remove --force ${outcomes.filter((o) => !o.ok).map((o) => o.rshost).join(" ")})`,
          );
          return EXIT.BAD_NEWS;
        }
        return EXIT.OK;
      } catch (e) {
        if (e instanceof FleetRequestError) throw new UserError(`pmon remove: ${e.message}`, e.reason === "store" ? EXIT.SERVER_DOWN : EXIT.USAGE);
        throw e;
      } finally {
        await fleet?.close();
      }
    });
  },
});
