import { defineCommand } from "citty";
import { FleetRequestError, openFleet, type Fleet } from "../fleet/service.ts";
import { VERSION } from "../version.ts";
import { commonArgs, runWithConfig, storeAndSshOverrides, storeArgs, UserError } from "./_shared.ts";

export default defineCommand({
  meta: {
    name: "rollback",
    description: "Make this binary's version the fleet's version even though it is older, and mark every host pmon deployed for redeployment (run it with the older binary, after the servers run it too)",
  },
  args: {
    ...commonArgs,
    ...storeArgs,
  },
  async run({ args }) {
    await runWithConfig(args, storeAndSshOverrides(args), async ({ config, log }) => {
      let fleet: Fleet | undefined;
      try {
        fleet = await openFleet(config, log);
        const { from, hosts } = await fleet.rollback(VERSION);
        log.info(`fleet version ${from ?? "(none)"} -> ${VERSION}: ${hosts} host(s) marked for redeployment; the servers' manager deploys them (each server must run ${VERSION} itself)`);
        return 0;
      } catch (e) {
        if (e instanceof FleetRequestError) throw new UserError(`pmon rollback: ${e.message}`);
        throw e;
      } finally {
        await fleet?.close();
      }
    });
  },
});
