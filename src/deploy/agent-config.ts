// The config file a deployed agent gets: where to report, who it is, how often, and the thresholds.
// It is built from the deploying side's [agent], [thresholds] and [log] sections and never carries
// [server] settings (database credentials). Alert channels go only to the hosts named in
// alerts.server_down_witnesses: they alone can raise the server-down alert (docs/alerts.md).
import { stringify } from "smol-toml";
import type { ResolvedConfig } from "../config/schema.ts";

export interface AgentConfigInput {
  config: ResolvedConfig;
  /** the host's id, as registered in tb_monitor_host_config */
  rshost: string;
  installDir: string;
  /** public keys of the servers' reply key the agent pins (agent.server_keys) */
  serverKeys: readonly string[];
}

/** Addresses agents report to: deploy.servers, else server.url. */
export function agentServers(config: ResolvedConfig): string[] {
  return config.deploy.servers.length > 0 ? [...config.deploy.servers] : [config.server.url];
}

/** Whether `rshost` is one of the hosts the operator named to raise the server-down alert. */
export function isServerDownWitness(config: ResolvedConfig, rshost: string): boolean {
  return config.alerts.server_down_witnesses.includes(rshost);
}

export function renderAgentConfig({ config, rshost, installDir, serverKeys }: AgentConfigInput): string {
  const agent: Record<string, unknown> = { ...config.agent };
  agent.host = rshost;
  agent.servers = agentServers(config);
  agent.secret_file = `${installDir}/agent.secret`;
  agent.data_dir = `${installDir}/data`;
  agent.server_keys = [...new Set([...config.agent.server_keys, ...serverKeys])];
  // stderr: systemd's journal or pmon's supervisor (which caps and rotates the file) takes it.
  agent.log_file = "";
  const a = config.alerts;
  // every agent counts the same rounds and speaks the same language; only witnesses get chat keys
  const alerts: Record<string, unknown> = { language: a.language, server_down_rounds: a.server_down_rounds };
  if (isServerDownWitness(config, rshost) && a.channels.length > 0) {
    Object.assign(alerts, { timeout_s: a.timeout_s, tries: a.tries, retry_backoff_ms: a.retry_backoff_ms, channels: a.channels.map((c) => ({ ...c })) });
  }
  const doc = { agent, thresholds: { ...config.thresholds }, alerts, log: { level: config.log.level } };
  return `# Written by pmon enroll for ${rshost}; it is rewritten on every deployment.\n${stringify(doc)}\n`;
}
