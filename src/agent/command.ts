// The long-running `pmon agent`: the collector, SIGTERM/SIGINT handling and the reporting loop.
import type { ResolvedConfig } from "../config/schema.ts";
import { createAgentNetworkCollector } from "../collect/network.ts";
import type { Logger } from "../log.ts";
import { createProcFs } from "../procfs/fs.ts";
import { agentHost, createAgentCollector } from "./once.ts";
import { serverDownWatchFromConfig, withSentAlerts } from "./server-down.ts";
import { readAgentCredentials, runAgent } from "./run.ts";

/** Runs until SIGTERM/SIGINT (0) or a server of another version answers (EXIT_UPGRADE). */
export async function runAgentCommand(config: ResolvedConfig, log: Logger): Promise<number> {
  readAgentCredentials(config.agent); // a missing key is reported before anything starts
  const network = createAgentNetworkCollector(config, log.withTag("net"));
  const collector = createAgentCollector(config, log.withTag("collect"), network);
  const stop = new AbortController();
  const onSignal = (sig: string) => {
    log.info(`${sig} received: finishing the current round`);
    stop.abort();
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  // the server-down alert: after each round, with what the servers answered
  const watch = serverDownWatchFromConfig(config, log, agentHost(config.agent, createProcFs(config.agent.proc_root)));
  collector.collect(); // primes the counters: the first report then covers a whole window
  const { exitCode } = await runAgent({
    config,
    log,
    collect: () => withSentAlerts(collector.collect(), watch),
    signal: stop.signal,
    onRound: (r) => watch.onRound(r),
  });
  await watch.idle();
  collector.close();
  network?.close();
  return exitCode;
}
