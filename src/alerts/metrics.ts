// Delivery counters for /metrics. One process-wide object: the server's /metrics handler reads it
// with renderAlertMetrics(); tests read the numbers directly.
import { CHANNEL_TYPES, type ChannelType } from "../config/schema.ts";

type PerChannel = Record<ChannelType, number>;
const zero = (): PerChannel => Object.fromEntries(CHANNEL_TYPES.map((t) => [t, 0])) as PerChannel;

export const alertMetrics = {
  /** messages a channel accepted */
  delivered: zero(),
  /** messages given up on after every retry */
  failed: zero(),
  /** single attempts that failed (each retry counts) */
  attemptFailures: zero(),
  /** alerts raised by rules, by kind family (silent, server_down, cpu, mem, fs, util, deploy_failed, rolled_back) */
  raised: {} as Record<string, number>,
};

export function countRaised(kind: string): void {
  const family = kind.split(":")[0]!;
  alertMetrics.raised[family] = (alertMetrics.raised[family] ?? 0) + 1;
}

/** Prometheus text exposition of the counters above. */
export function renderAlertMetrics(): string {
  const lines: string[] = [];
  const counter = (name: string, help: string, values: Record<string, number>, label: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [k, v] of Object.entries(values)) lines.push(`${name}{${label}="${k}"} ${v}`);
  };
  counter("pmon_alert_deliveries_total", "Alert messages accepted by a channel.", alertMetrics.delivered, "channel");
  counter("pmon_alert_delivery_failures_total", "Alert messages dropped after all retries.", alertMetrics.failed, "channel");
  counter("pmon_alert_attempt_failures_total", "Failed delivery attempts, retries included.", alertMetrics.attemptFailures, "channel");
  counter("pmon_alerts_raised_total", "Alerts raised by the rules, by kind.", alertMetrics.raised, "kind");
  return lines.join("\n") + "\n";
}
