// The server's alert service: the silent-host pass on a timer, saturation checks at ingest, and the
// witness list put into every report reply. One instance per server process; all incident state is
// in tb_monitor_alert_info, so a new instance (a restart, or another server) carries on from there.
import { hostname } from "node:os";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Report } from "../protocol/report.ts";
import { claimOpen, claimRepeat, claimResolve, closeQuietly, listOpenAlerts, listRunningHosts, type RunningHost } from "../store/alerts.ts";
import type { Db } from "../store/db.ts";
import type { AlertEvent } from "./event.ts";
import { defaultOwner, notifyEvent, resolveEvent } from "./events.ts";
import { asLanguage, silentFiring, silentResolved } from "./messages.ts";
import { countRaised } from "./metrics.ts";
import { notifierFromConfig, type Notifier } from "./notifier.ts";
import { recordingNotifier } from "./recorded.ts";
import { decideSilent } from "./rules.ts";
import { createSaturationTracker } from "./saturation.ts";
import { selectWitnesses, WITNESS_COUNT } from "./witnesses.ts";

export interface AlertServiceOptions {
  config: ResolvedConfig;
  log: Logger;
  db: Db;
  /** which server claims incidents (default host:pid) */
  owner?: string;
  now?: () => number;
  notifier?: Notifier;
  /** this machine's host names, put last in the witness list (default: os.hostname() and agent.host) */
  sameMachine?: readonly string[];
}

export interface AlertService {
  /** ingest hook: saturation rules and witness freshness; never throws */
  onReport(report: Report, receivedAt: number): Promise<void>;
  /** onReport for each live report of a stored batch (spool replays are old news: skipped); does not wait */
  onArrivals(items: readonly { report: Report; receivedAt: number; replay: boolean }[]): void;
  /** the witness list for report replies (cached; refreshed by the timer) */
  witnesses(): string[];
  /** one silent-host pass */
  checkSilent(): Promise<void>;
  refreshWitnesses(): Promise<void>;
  notifyEvent: (ev: Parameters<typeof notifyEvent>[1]) => Promise<boolean>;
  resolveEvent: (ev: Parameters<typeof resolveEvent>[1]) => Promise<boolean>;
  /** starts the timers; the returned function stops them and waits for a running pass */
  start(): () => Promise<void>;
}

const SILENT = "silent";
/** how old the cached witness list may be when a reply asks for it */
const WITNESS_CACHE_MS = 250;
/** the witness list is refreshed this many times per witness_fresh_s, within these bounds */
const WITNESS_REFRESHES_PER_WINDOW = 3;
const WITNESS_REFRESH_MIN_MS = 50;
const WITNESS_REFRESH_MAX_MS = 5000;

export function createAlertService(o: AlertServiceOptions): AlertService {
  const a = o.config.alerts;
  const log = o.log.withTag("alerts");
  const now = o.now ?? Date.now;
  const owner = o.owner ?? defaultOwner();
  const notifier = recordingNotifier(o.notifier ?? notifierFromConfig(o.config, o.log), { db: o.db, sender: owner, log: o.log });
  const language = asLanguage(a.language);
  const sameMachine = new Set(o.sameMachine ?? [hostname(), o.config.agent.host].filter(Boolean));
  const send = (e: AlertEvent) => notifier.send(e);
  const eventCtx = { config: o.config, log: o.log, db: o.db, notifier, owner, now };

  // Witnesses: the store's last_report_at, updated at once by this server's own arrivals.
  let running: RunningHost[] = [];
  const seen = new Map<string, number>();
  let witnessCache: string[] = [];
  let witnessAt = -Infinity;
  // hosts fresh at the last computation; an arrival from any other host may change the list
  let freshKnown = new Set<string>();
  const recomputeWitnesses = () => {
    const t = now();
    const freshMs = a.witness_fresh_s * 1000;
    witnessAt = t;
    // named witnesses only, when the operator named some: the other agents hold no channels
    const named = new Set(a.server_down_witnesses);
    const candidates = named.size > 0 ? running.filter((h) => named.has(h.rshost)) : running;
    const merged = candidates.map((h) => {
      const last = Math.max(h.lastReportAt ?? -Infinity, seen.get(h.rshost) ?? -Infinity);
      return { rshost: h.rshost, lastReportAt: Number.isFinite(last) ? last : null };
    });
    witnessCache = selectWitnesses(merged, t, freshMs, undefined, sameMachine);
    freshKnown = new Set(merged.filter((h) => h.lastReportAt !== null && t - h.lastReportAt <= freshMs).map((h) => h.rshost));
  };
  const arrived = (host: string, at: number) => {
    seen.set(host, at);
    if (freshKnown.has(host)) return;
    freshKnown.add(host);
    // The list is the first WITNESS_COUNT fresh hosts by name, so a newly fresh host changes it only when it
    // sorts before the last one: recomputing for every new arrival would cost O(hosts²) over the first
    // interval after a start, when every host of a large fleet arrives as new.
    const last = witnessCache[witnessCache.length - 1];
    if (last === undefined || witnessCache.length < WITNESS_COUNT || sameMachine.has(last) || (!sameMachine.has(host) && host < last)) witnessAt = -Infinity;
  };

  const saturation = createSaturationTracker({
    db: o.db,
    log,
    owner,
    language,
    thresholds: a,
    send,
  });

  async function refreshWitnesses(): Promise<void> {
    running = await listRunningHosts(o.db);
    recomputeWitnesses();
  }

  // After a start, agents need one report interval to reach us; while this server (perhaps the only
  // one) was down, last_report_at could not move. So no host counts as silent until it has had
  // silent_after_s since our start to report.
  const startedAt = now();

  async function checkSilent(): Promise<void> {
    const t = now();
    const hosts = await listRunningHosts(o.db);
    running = hosts;
    recomputeWitnesses();
    if (t - startedAt < a.silent_after_s * 1000) return;
    const allOpen = await listOpenAlerts(o.db);
    const open = new Map(allOpen.filter((r) => r.kind === SILENT).map((r) => [r.rshost, r]));
    const events: AlertEvent[] = [];
    for (const h of hosts) {
      const row = open.get(h.rshost);
      open.delete(h.rshost);
      const action = decideSilent({
        lastReportAt: h.lastReportAt,
        now: t,
        silentAfterMs: a.silent_after_s * 1000,
        repeatEveryMs: a.repeat_every_s * 1000,
        maxRepeats: a.max_repeats,
        alert: row ? { open: true, sent: row.sent, since: row.since, lastAlertAt: row.aTime } : undefined,
      });
      if (action.type === "none") continue;
      const base = { rshost: h.rshost, kind: SILENT, now: t, owner };
      if (action.type === "open") {
        const message = silentFiring(language, { host: h.rshost, afterS: a.silent_after_s, since: action.since, count: 1, max: a.max_repeats });
        if (await claimOpen(o.db, { ...base, since: action.since, remarks: message })) {
          countRaised(SILENT);
          events.push({ host: h.rshost, kind: SILENT, state: "firing", since: action.since, time: t, message });
        }
      } else if (action.type === "repeat") {
        const count = action.fromSent + 1;
        if (await claimRepeat(o.db, { ...base, fromSent: action.fromSent })) {
          countRaised(SILENT);
          const message = silentFiring(language, { host: h.rshost, afterS: a.silent_after_s, since: action.since, count, max: a.max_repeats });
          events.push({ host: h.rshost, kind: SILENT, state: "firing", repeat: true, since: action.since, time: t, message });
        }
      } else if (await claimResolve(o.db, { ...base, fromSent: action.fromSent })) {
        const message = silentResolved(language, { host: h.rshost, afterS: a.silent_after_s, since: action.since, until: action.until });
        events.push({ host: h.rshost, kind: SILENT, state: "resolved", since: action.since, time: t, message });
      }
    }
    // Silent and saturation incidents of hosts no longer running (removed): nothing will recover them,
    // close them quietly. Deploy incidents concern hosts that are not running by nature: the manager closes those.
    const runningNames = new Set(hosts.map((h) => h.rshost));
    for (const row of allOpen) {
      if (runningNames.has(row.rshost) || row.kind === "deploy_failed" || row.kind === "rolled_back") continue;
      await closeQuietly(o.db, { rshost: row.rshost, kind: row.kind, now: t, owner });
    }
    // one pass, one batch: a partition that silences 50 hosts is a few robot messages, not 50
    await notifier.sendAll(events);
  }

  return {
    async onReport(report, receivedAt) {
      arrived(report.host, receivedAt);
      await saturation.onReport(report, receivedAt);
    },
    onArrivals(items) {
      for (const it of items) {
        if (it.replay) continue;
        arrived(it.report.host, it.receivedAt);
        void saturation.onReport(it.report, it.receivedAt);
      }
    },
    witnesses: () => {
      // every reply asks; WITNESS_CACHE_MS of staleness is nothing next to witness_fresh_s
      if (Math.abs(now() - witnessAt) > WITNESS_CACHE_MS) recomputeWitnesses();
      return witnessCache;
    },
    checkSilent,
    refreshWitnesses,
    notifyEvent: (ev) => notifyEvent(eventCtx, ev),
    resolveEvent: (ev) => resolveEvent(eventCtx, ev),
    start() {
      let pass: Promise<void> = Promise.resolve();
      let busy = false;
      const silentTimer = setInterval(() => {
        if (busy) return; // a slow pass (store or channel trouble) is not stacked up
        busy = true;
        pass = checkSilent()
          .catch((e) => log.warn(`silent-host check failed: ${(e as Error).message}`))
          .finally(() => {
            busy = false;
          });
      }, a.check_every_s * 1000);
      // The witness list must follow deaths faster than the silent pass: a few refreshes per freshness window.
      const witnessMs = Math.max(WITNESS_REFRESH_MIN_MS, Math.min(WITNESS_REFRESH_MAX_MS, (a.witness_fresh_s * 1000) / WITNESS_REFRESHES_PER_WINDOW));
      let refreshing = false;
      const witnessTimer = setInterval(() => {
        if (refreshing) return;
        refreshing = true;
        refreshWitnesses()
          .catch((e) => log.debug(`witness refresh failed: ${(e as Error).message}`))
          .finally(() => {
            refreshing = false;
          });
      }, witnessMs);
      void refreshWitnesses().catch(() => {});
      log.info(`alerts: ${notifier.channelCount} channel(s), silent after ${a.silent_after_s} s, checked every ${a.check_every_s} s`);
      if (a.server_down_witnesses.length === 0) {
        log.warn("alerts.server_down_witnesses is empty: no enrolled host holds the alert channels, so nobody can raise the server-down alert (name 1-3 hosts there and re-deploy them; see docs/alerts.md)");
      } else if (notifier.channelCount === 0) {
        log.warn(`alerts.server_down_witnesses names ${a.server_down_witnesses.join(", ")}, but there are no [[alerts.channels]] to give them`);
      } else {
        log.info(`server-down witnesses (they hold the channels): ${a.server_down_witnesses.join(", ")}`);
      }
      return async () => {
        clearInterval(silentTimer);
        clearInterval(witnessTimer);
        await pass;
      };
    },
  };
}
