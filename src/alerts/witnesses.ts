// Server side of the server-down alert: which agents are the "witnesses" named in every reply.
// The list is ordered by host name among hosts that reported recently, so every agent that got a
// reply in the last interval holds the same list, and it changes only when a witness stops reporting
// (or a host sorting earlier starts again). See docs/alerts.md ("Server down") for the guarantee.
import type { RunningHost } from "../store/alerts.ts";

const WITNESS_COUNT = 3;

/**
 * Up to `count` fresh hosts by name. Hosts in `sameMachine` (the server's own host names) go last:
 * when the machine dies they die with the server and could not raise the alert.
 */
export function selectWitnesses(hosts: readonly RunningHost[], nowMs: number, freshMs: number, count = WITNESS_COUNT, sameMachine: ReadonlySet<string> = new Set()): string[] {
  const fresh = hosts.filter((h) => h.lastReportAt !== null && nowMs - h.lastReportAt <= freshMs).map((h) => h.rshost);
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const others = fresh.filter((h) => !sameMachine.has(h)).sort(byName);
  const local = fresh.filter((h) => sameMachine.has(h)).sort(byName);
  return [...others, ...local].slice(0, count);
}
