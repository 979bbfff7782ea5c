// `pmon agent --once`: build the collector from the config, take two samples --sample-ms apart and
// return the one report. createAgentCollector is shared with the long-running loop.
import { hostname } from "node:os";
import type { ResolvedConfig } from "../config/schema.ts";
import { createCollector, type Collector } from "../collect/collector.ts";
import { createExitSource } from "../collect/exits.ts";
import type { NetworkCollector } from "../collect/types.ts";
import type { Logger } from "../log.ts";
import { isGone } from "../procfs/errors.ts";
import { createProcFs, type ProcFs } from "../procfs/fs.ts";
import { readHostname } from "../procfs/sys-kernel-hostname.ts";
import { HOST_RE, type Report } from "../protocol/report.ts";
import { VERSION } from "../version.ts";

/** An agent setting that cannot work (bad host name, unreadable proc root): one line, exit 1. */
export class AgentConfigError extends Error {
  override name = "AgentConfigError";
}

/** agent.host, else the hostname of the proc tree (deterministic for fixture roots), else the OS's. */
export function agentHost(agent: ResolvedConfig["agent"], proc: ProcFs): string {
  let host = agent.host;
  if (!host) {
    try {
      host = readHostname(proc);
    } catch (e) {
      if (!isGone(e)) throw e;
      host = hostname();
    }
  }
  if (!HOST_RE.test(host)) throw new AgentConfigError(`host name ${JSON.stringify(host)} is not valid (a letter or digit first, then letters, digits, . _ - : only); set agent.host or --host`);
  return host;
}

/**
 * `longRunning` false: the process ends soon (`--once`). Collecting its garbage would be work for nothing, and
 * so would keeping every process's stat open for scans that never come (closing 3,000 of them at exit cost
 * more than the one scan they would save).
 */
export function createAgentCollector(config: ResolvedConfig, log: Logger, network?: NetworkCollector, longRunning = true): Collector {
  const a = config.agent;
  const proc = createProcFs(a.proc_root, { keepStatFiles: longRunning });
  let host: string;
  try {
    host = agentHost(a, proc);
  } catch (e) {
    if (e instanceof AgentConfigError) throw e;
    throw new AgentConfigError(`cannot read ${a.proc_root}: ${(e as Error).message}`);
  }
  return createCollector({
    proc,
    sysRoot: a.sys_root,
    host,
    agentVersion: VERSION,
    mounts: a.mounts,
    topN: a.top_n,
    thresholds: config.thresholds,
    sensitiveWords: a.sensitive_words,
    log,
    network,
    exits: createExitSource(a.proc_root, log.withTag("exits")),
    gcAfterCollect: longRunning,
  });
}

export interface OnceOptions {
  /** test only: read the second sample from this tree instead of proc_root again (no wait) */
  procRootNext?: string;
}

/** Two samples sample_ms apart (or proc_root then procRootNext), one report. */
export async function runOnce(config: ResolvedConfig, log: Logger, network?: NetworkCollector, opts: OnceOptions = {}): Promise<Report> {
  const collector = createAgentCollector(config, log, network, false);
  let report: Report | null;
  try {
    const first = collectOrExplain(collector, config.agent.proc_root);
    if (first !== null) throw new Error("collector returned a report on its priming call");
    if (opts.procRootNext) {
      report = collectOrExplain(collector, opts.procRootNext, createProcFs(opts.procRootNext));
    } else {
      await Bun.sleep(config.agent.sample_ms);
      report = collectOrExplain(collector, config.agent.proc_root);
    }
  } finally {
    collector.close();
  }
  if (report === null) throw new AgentConfigError("no time passed between the two samples");
  return report;
}

function collectOrExplain(collector: Collector, root: string, proc?: ProcFs): Report | null {
  try {
    return collector.collect(proc ? { proc } : undefined);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EACCES" || code === "ENOTDIR" || (e as Error).name === "ProcParseError") {
      throw new AgentConfigError(`cannot collect from ${root}: ${(e as Error).message}`);
    }
    throw e;
  }
}
