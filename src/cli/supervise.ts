import { defineCommand } from "citty";
import { supervise } from "../deploy/supervisor.ts";
import { checkInstallDir } from "../deploy/units.ts";
import { commonArgs, runWithConfig, UserError } from "./_shared.ts";

// Started by the deploy on hosts without systemd; not meant to be run by hand.
export default defineCommand({
  meta: { name: "supervise", description: "Run the agent and restart it when it exits (hosts without systemd)", hidden: true },
  args: {
    ...commonArgs,
    "install-dir": { type: "string", description: "Where pmon, pmon.toml and pmon.log live", required: true },
  },
  async run({ args }) {
    await runWithConfig(args, {}, async ({ config }) => {
      let dir: string;
      try {
        dir = checkInstallDir(args["install-dir"]);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
      return supervise({ installDir: dir, logMaxBytes: config.agent.log_max_mb * 1024 * 1024 });
    });
  },
});
