import { defineCommand } from "citty";
import { runServer } from "../server/run.ts";
import { commonArgs, definedOnly, runWithConfig, storeArgs, UserError } from "./_shared.ts";

export default defineCommand({
  meta: { name: "server", description: "Receive signed agent reports over HTTP, store them, manage hosts and alerts" },
  args: {
    ...commonArgs,
    listen: { type: "string", description: "HOST:PORT to listen on (server.listen, default 0.0.0.0:9300)" },
    ...storeArgs,
  },
  async run({ args }) {
    const overrides = definedOnly({ "server.listen": args.listen, "server.storage": args.storage, "server.data_dir": args["data-dir"] });
    await runWithConfig(args, overrides, async ({ config, log }) => {
      let handle;
      try {
        handle = await runServer(config, log);
      } catch (e) {
        throw new UserError(`pmon server: ${(e as Error).message}`);
      }
      // SIGTERM/SIGINT: stop accepting, finish what is in flight, drain the queue, exit 0.
      await new Promise<void>((resolve) => {
        const onSignal = (sig: string) => {
          log.info(`${sig} received`);
          handle.stop().then(resolve, (e) => {
            log.error(`shutdown: ${(e as Error).message}`);
            resolve();
          });
        };
        process.once("SIGTERM", () => onSignal("SIGTERM"));
        process.once("SIGINT", () => onSignal("SIGINT"));
      });
      return 0;
    });
  },
});
