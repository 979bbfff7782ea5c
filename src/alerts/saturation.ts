// Saturated hosts, evaluated at ingest: per host and condition, in memory, when it went over; the
// incident itself lives in tb_monitor_alert_info (kind cpu | mem | fs:<mount> | util:<dev>) so a
// recovery is sent even by another server or after a restart.
import type { Logger } from "../log.ts";
import type { Report } from "../protocol/report.ts";
import { claimOpen, claimResolve, listOpenAlerts } from "../store/alerts.ts";
import type { Db } from "../store/db.ts";
import type { AlertEvent } from "./event.ts";
import { saturationFiring, saturationResolved, type Language } from "./messages.ts";
import { countRaised } from "./metrics.ts";
import { saturationConditions, type SaturationThresholds } from "./rules.ts";

interface ConditionState {
  /** first report (server clock) of the current run over the threshold */
  overSince?: number;
  /** an incident is open for it (ours or another server's) */
  open: boolean;
  /** start of the open incident */
  incidentSince?: number;
}

export interface SaturationOptions {
  db: Db;
  log: Logger;
  owner: string;
  language: Language;
  thresholds: SaturationThresholds;
  send: (e: AlertEvent) => Promise<boolean>;
}

export interface SaturationTracker {
  /** evaluates one report; runs after the previous report of the same host is done */
  onReport(report: Report, receivedAt: number): Promise<void>;
}

const SATURATION_KIND = /^(cpu|mem|fs:.*|util:.*)$/;

export function createSaturationTracker(o: SaturationOptions): SaturationTracker {
  const hosts = new Map<string, Map<string, ConditionState>>();
  const chains = new Map<string, Promise<void>>();

  async function stateOf(host: string): Promise<Map<string, ConditionState>> {
    let m = hosts.get(host);
    if (m) return m;
    // First report of this host since start: pick up incidents left open by a previous run or server.
    m = new Map();
    for (const row of await listOpenAlerts(o.db, { rshost: host })) {
      if (SATURATION_KIND.test(row.kind)) m.set(row.kind, { open: true, overSince: row.since ?? undefined, incidentSince: row.since ?? undefined });
    }
    hosts.set(host, m);
    return m;
  }

  async function evaluate(report: Report, receivedAt: number): Promise<void> {
    const states = await stateOf(report.host);
    for (const c of saturationConditions(report, o.thresholds)) {
      let s = states.get(c.kind);
      if (!s) states.set(c.kind, (s = { open: false }));
      if (c.over) {
        s.overSince ??= receivedAt;
        if (s.open || receivedAt - s.overSince < c.for_ms) continue;
        const since = s.overSince;
        const message = saturationFiring(o.language, {
          host: report.host,
          what: c.what,
          target: c.target,
          value_pct: c.value_pct,
          threshold_pct: c.threshold_pct,
          since,
          lasted_ms: receivedAt - since,
          culprits: c.culprits,
        });
        // Marked open only once the store answered: a store error retries on the next report.
        const won = await claimOpen(o.db, { rshost: report.host, kind: c.kind, since, now: receivedAt, owner: o.owner, remarks: message });
        s.open = true;
        s.incidentSince = since;
        if (won) {
          countRaised(c.kind);
          await o.send({ host: report.host, kind: c.kind, state: "firing", since, time: receivedAt, message });
        }
      } else {
        s.overSince = undefined;
        if (!s.open) continue;
        const since = s.incidentSince ?? receivedAt;
        const won = await claimResolve(o.db, { rshost: report.host, kind: c.kind, fromSent: 1, now: receivedAt, owner: o.owner });
        s.open = false;
        if (won) {
          const message = saturationResolved(o.language, { host: report.host, what: c.what, target: c.target, value_pct: c.value_pct, since, until: receivedAt });
          await o.send({ host: report.host, kind: c.kind, state: "resolved", since, time: receivedAt, message });
        }
      }
    }
  }

  return {
    onReport(report, receivedAt) {
      const prev = chains.get(report.host) ?? Promise.resolve();
      const next = prev
        .then(() => evaluate(report, receivedAt))
        .catch((e) => o.log.warn(`saturation check for ${report.host} failed: ${(e as Error).message}`));
      chains.set(report.host, next);
      void next.finally(() => {
        if (chains.get(report.host) === next) chains.delete(report.host);
      });
      return next;
    },
  };
}
