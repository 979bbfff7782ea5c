// `pmon agent` as a library: secret, spool, transport and the loop, wired from the config.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parsePublicKey } from "../protocol/api.ts";
import { privateDir } from "../util/private-files.ts";
import { AgentSetupError, readAgentKey } from "../keys/agent-key.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Report } from "../protocol/report.ts";
import { VERSION } from "../version.ts";
import { runAgentLoop, type AgentStats, type RoundResult } from "./loop.ts";
import { Spool } from "./spool.ts";
import { createTransport } from "./transport.ts";

export { AgentSetupError };

export function secretPath(agent: ResolvedConfig["agent"]): string {
  return agent.secret_file || join(agent.data_dir, "agent.secret");
}

/** This host's private key, the pinned server keys (config and key file together) and the CA file. */
export function readAgentCredentials(agent: ResolvedConfig["agent"]) {
  const key = readAgentKey(secretPath(agent));
  const texts = [...new Set([...agent.server_keys, ...key.serverKeys])];
  if (texts.length === 0) throw new AgentSetupError("no server key pinned (agent.server_keys, or server-key lines in the key file): enroll this host again");
  const serverKeys = texts.map((t) => {
    try {
      return parsePublicKey(t);
    } catch (e) {
      throw new AgentSetupError(`agent.server_keys: ${(e as Error).message}`);
    }
  });
  let ca: string | undefined;
  if (agent.ca_file) {
    try {
      ca = readFileSync(agent.ca_file, "utf8");
    } catch (e) {
      throw new AgentSetupError(`agent.ca_file ${agent.ca_file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return { privateKeyPem: key.privateKeyPem, serverKeys, ca };
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
  const cred = readAgentCredentials(a);
  if (a.servers.length === 0) throw new AgentSetupError("agent.servers is empty: nowhere to report");
  privateDir(a.data_dir);
  const spool = new Spool(join(a.data_dir, "spool"), { maxBytes: a.spool_max_mb * 1024 * 1024, maxAgeMs: a.spool_max_age_h * 3_600_000 }, o.log.withTag("spool"));
  const transport = createTransport({ servers: a.servers, secret: cred.privateKeyPem, serverKeys: cred.serverKeys, ca: cred.ca, log: o.log.withTag("transport"), timeoutMs: Math.min(15_000, Math.max(2_000, a.interval_s * 1000)) });
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
