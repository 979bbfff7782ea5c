// The key handling and the reporting loop (signing, HTTP, spool) are imported when used: `pmon agent --once`
// then loads none of it, nor node:crypto, which makes every start cheaper.
import { defineCommand } from "citty";
import { AgentConfigError, runOnce } from "../agent/once.ts";
import { formatReportSummary, SUMMARY_BY, type SummaryBy } from "../collect/summary.ts";
import { createAgentNetworkCollector } from "../collect/network.ts";
import { commonArgs, definedOnly, noConfigHint, runWithConfig, UserError } from "./_shared.ts";
import { EXIT } from "./exit-codes.ts";
import { terminalJson } from "../util/terminal.ts";
import { stdout } from "../util/output.ts";
import { execSelfWithAgentJit } from "../util/exec-self.ts";

export default defineCommand({
  meta: { name: "agent", description: "Collect process and host usage from /proc and report it to the pmon servers" },
  args: {
    ...commonArgs,
    once: { type: "boolean", description: "Take one sample window, print the report and exit (nothing is sent)" },
    json: { type: "boolean", description: "With --once: print the report as JSON" },
    by: { type: "string", description: "With --once: order the processes by cpu | mem | io | net", default: "cpu" },
    "sample-ms": { type: "string", description: "With --once: length of the sample window in ms (agent.sample_ms, default 1000)" },
    host: { type: "string", description: "Host id in reports (agent.host; default the hostname)" },
    "proc-root": { type: "string", description: "Read this tree instead of /proc (agent.proc_root)" },
    "sys-root": { type: "string", description: "Read this tree instead of /sys (agent.sys_root)" },
    "top-n": { type: "string", description: "Keep the top N processes by CPU, memory, disk and network (agent.top_n)" },
    server: { type: "string", description: "Server URL(s) to report to, comma-separated, first preferred (agent.servers)" },
    "data-dir": { type: "string", description: "Spool and secret directory (agent.data_dir)" },
    "secret-file": { type: "string", description: "This host's private key file (agent.secret_file; default <data-dir>/agent.secret)" },
    "init-key": { type: "boolean", description: "Used by pmon enroll: create this host's key if it has none, print its public key, exit" },
    rekey: { type: "boolean", description: "With --init-key: replace an existing key" },
    "show-key": { type: "boolean", description: "Used by pmon enroll: print this host's public key, if it has one, and exit" },
    interval: { type: "string", description: "Seconds between reports (agent.interval_s)" },
    "proc-root-next": { type: "string", description: "Test only: with --once, read the second sample from this tree (no wait)" },
  },
  async run({ args }) {
    // the loop runs with its own JIT options (util/exec-self.ts); this returns only if it did not exec
    const notRestarted = args.once || args["show-key"] || args["init-key"] ? undefined : execSelfWithAgentJit();
    const overrides = definedOnly({
      "agent.sample_ms": numberArg(args["sample-ms"]),
      "agent.host": args.host,
      "agent.proc_root": args["proc-root"],
      "agent.sys_root": args["sys-root"],
      "agent.top_n": numberArg(args["top-n"]),
      "agent.servers": args.server?.split(",").map((u) => u.trim()).filter(Boolean),
      "agent.data_dir": args["data-dir"],
      "agent.secret_file": args["secret-file"],
      "agent.interval_s": numberArg(args.interval),
    });
    await runWithConfig(args, overrides, async ({ config, log }) => {
      if (config.source === undefined && !args.once) log.info(`running on defaults ${noConfigHint()}`);
      if (notRestarted) log.warn(`running with the default JIT options (more memory): ${notRestarted}`);
      if (args["show-key"]) {
        const { readAgentKey } = await import("../keys/agent-key.ts");
        const { secretPath } = await import("../agent/run.ts");
        try {
          stdout().write(readAgentKey(secretPath(config.agent)).publicKey + "\n");
        } catch {
          // no key (or not a pmon key): print nothing
        }
        return 0;
      }
      if (args["init-key"]) {
        const { initAgentKey } = await import("../keys/agent-key.ts");
        const { secretPath } = await import("../agent/run.ts");
        try {
          // only the public key leaves the host
          stdout().write(initAgentKey(secretPath(config.agent), { fresh: Boolean(args.rekey) }).publicKey + "\n");
        } catch (e) {
          throw new UserError(`pmon agent --init-key: ${(e as Error).message}`);
        }
        return 0;
      }
      if (!args.once) {
        // the long-running loop: src/agent/command.ts
        const { runAgentCommand } = await import("../agent/command.ts");
        const { AgentSetupError } = await import("../agent/run.ts");
        try {
          return await runAgentCommand(config, log);
        } catch (e) {
          if (e instanceof AgentConfigError || e instanceof AgentSetupError) throw new UserError(`pmon agent: ${e.message}`, EXIT.USAGE);
          throw e;
        }
      }
      const by = String(args.by) as SummaryBy;
      if (!SUMMARY_BY.includes(by)) throw new UserError(`--by must be one of ${SUMMARY_BY.join(", ")}, got "${args.by}"`, 2);
      const network = createAgentNetworkCollector(config, log.withTag("net"));
      try {
        const report = await runOnce(config, log, network, { procRootNext: args["proc-root-next"] });
        stdout().write(args.json ? terminalJson(report) + "\n" : formatReportSummary(report, by));
      } catch (e) {
        if (e instanceof AgentConfigError) throw new UserError(e.message, EXIT.USAGE);
        throw e;
      } finally {
        network?.close();
      }
    });
  },
});

/** Numeric flags arrive as strings; anything else is passed on for the config layer to reject in one line. */
function numberArg(v: string | undefined): number | string | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return v.trim() !== "" && Number.isFinite(n) ? n : v;
}
