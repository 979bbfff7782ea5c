import { defineCommand } from "citty";
import { ConfigError } from "../config/load.ts";
import { runServer } from "../server/run.ts";
import { commonArgs, definedOnly, noConfigHint, runWithConfig, storeArgs, UserError } from "./_shared.ts";
import { EXIT } from "./exit-codes.ts";

export default defineCommand({
  meta: { name: "server", description: "Receive signed agent reports over HTTP, store them, manage hosts and alerts" },
  args: {
    ...commonArgs,
    listen: { type: "string", description: "HOST:PORT to listen on (server.listen, default 0.0.0.0:9300)" },
    ...storeArgs,
  },
  async run({ args }) {
    // the binary starts with a reluctant JIT (see the Makefile); the server's validation, JSON and SQL code
    // runs for every report and is worth optimizing
    Bun.unsafe.setJITPolicy(1);
    const overrides = definedOnly({ "server.listen": args.listen, "server.storage": args.storage, "server.data_dir": args["data-dir"] });
    await runWithConfig(args, overrides, async ({ config, log }) => {
      if (config.source === undefined) log.info(`running on defaults ${noConfigHint()}`);
      // Signals are caught from the start: one that arrives while the server is starting stops it
      // cleanly once it has started, instead of killing it halfway.
      let signalled: string | undefined;
      let onSignal = (sig: string) => {
        signalled ??= sig;
      };
      process.once("SIGTERM", () => onSignal("SIGTERM"));
      process.once("SIGINT", () => onSignal("SIGINT"));
      let handle;
      try {
        handle = await runServer(config, log);
      } catch (e) {
        // a setting that cannot work is a configuration error (2); anything else kept it from starting (1)
        throw new UserError(`pmon server: ${(e as Error).message}`, e instanceof ConfigError ? EXIT.USAGE : EXIT.BAD_NEWS);
      }
      // SIGTERM/SIGINT: stop accepting, finish what is in flight, drain the queue, exit 0.
      await new Promise<void>((resolve) => {
        onSignal = (sig: string) => {
          log.info(`${sig} received`);
          handle.stop().then(resolve, (e) => {
            log.error(`shutdown: ${(e as Error).message}`);
            resolve();
          });
        };
        if (signalled) onSignal(signalled);
      });
      return 0;
    });
  },
});
