// `pmon agent` as a library: secret, spool, transport and the loop, wired from the config.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Report } from "../protocol/report.ts";
import { VERSION } from "../version.ts";
import { runAgentLoop, type AgentStats, type RoundResult } from "./loop.ts";
import { Spool } from "./spool.ts";
import { createTransport } from "./transport.ts";

/** A problem the operator must fix before the agent can run (missing secret, no servers). */
export class AgentSetupError extends Error {
  override name = "AgentSetupError";
}

export function secretPath(agent: ResolvedConfig["agent"]): string {
  return agent.secret_file || join(agent.data_dir, "agent.secret");
}

export function readAgentSecret(path: string): string {
  if (!existsSync(path)) throw new AgentSetupError(`secret file ${path} not found: enroll this host first (pmon enroll HOST, or --no-deploy --secret-out ${path})`);
  const secret = readFileSync(path, "utf8").trim();
  if (!secret) throw new AgentSetupError(`secret file ${path} is empty`);
  return secret;
}

export interface RunAgentOptions {
  config: ResolvedConfig;
  log: Logger;
  /** null = nothing to send this round (the collector's first call only primes its counters) */
  collect: () => Promise<Report | null> | Report | null;
  signal?: AbortSignal;
  /** the server-down hook; default none */
  onRound?: (r: RoundResult) => Promise<void> | void;
}

export async function runAgent(o: RunAgentOptions): Promise<{ exitCode: number; stats: AgentStats }> {
  const a = o.config.agent;
  const secret = readAgentSecret(secretPath(a));
  if (a.servers.length === 0) throw new AgentSetupError("agent.servers is empty: nowhere to report");
  const spool = new Spool(join(a.data_dir, "spool"), { maxBytes: a.spool_max_mb * 1024 * 1024, maxAgeMs: a.spool_max_age_h * 3_600_000 }, o.log.withTag("spool"));
  const transport = createTransport({ servers: a.servers, secret, log: o.log.withTag("transport"), timeoutMs: Math.min(15_000, Math.max(2_000, a.interval_s * 1000)) });
  return runAgentLoop({
    intervalMs: a.interval_s * 1000,
    jitterMs: a.jitter_s * 1000,
    replayPerS: a.replay_per_s,
    collect: o.collect,
    transport,
    spool,
    log: o.log,
    version: VERSION,
    onRound: o.onRound,
    signal: o.signal,
  });
}
