// What the server's fleet manager did, for /metrics: deployments and removals by outcome.
import { HOST_OUTCOME_STATES, type HostOutcomeState } from "../protocol/api.ts";

export type FleetAction = "deploy" | "remove";
const zero = () => Object.fromEntries(HOST_OUTCOME_STATES.map((s) => [s, 0])) as Record<HostOutcomeState, number>;

export const fleetMetrics: Record<FleetAction, Record<HostOutcomeState, number>> = { deploy: zero(), remove: zero() };

export function countFleetOutcome(action: FleetAction, state: HostOutcomeState): void {
  fleetMetrics[action][state]++;
}

export function renderFleetMetrics(): string {
  const lines = ["# HELP pmon_fleet_jobs_total Deployments and removals the fleet manager finished, by outcome.", "# TYPE pmon_fleet_jobs_total counter"];
  for (const [action, byState] of Object.entries(fleetMetrics)) {
    for (const [state, n] of Object.entries(byState)) lines.push(`pmon_fleet_jobs_total{action="${action}",outcome="${state.replace(" ", "_")}"} ${n}`);
  }
  return lines.join("\n") + "\n";
}
