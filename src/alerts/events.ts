// One-off fleet events for the deploy manager: a failed deployment or a rolled-back upgrade is
// announced once per incident (deduped through tb_monitor_alert_info), and once more when it clears.
import { hostname } from "node:os";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { claimOpen, claimResolve, getAlert } from "../store/alerts.ts";
import type { Db } from "../store/db.ts";
import { asLanguage, fleetEventFiring, fleetEventResolved, type FleetEventKind } from "./messages.ts";
import { countRaised } from "./metrics.ts";
import { notifierFromConfig, type Notifier } from "./notifier.ts";
import { recordingNotifier } from "./recorded.ts";

export interface EventContext {
  config: ResolvedConfig;
  log: Logger;
  db: Db;
  /** defaults to a notifier built from config.alerts */
  notifier?: Notifier;
  /** which server claims the incident (default: this machine's host name and pid) */
  owner?: string;
  now?: () => number;
}

export function defaultOwner(): string {
  return `${hostname()}:${process.pid}`.slice(0, 128);
}

/** The context's notifier (or one from config.alerts), recording into the alert log. */
function notifierOf(ctx: EventContext): Notifier {
  return recordingNotifier(ctx.notifier ?? notifierFromConfig(ctx.config, ctx.log), { db: ctx.db, sender: ctx.owner ?? defaultOwner(), log: ctx.log });
}

/**
 * Announces a deploy failure or rollback for `host`. Sends only when no incident of that kind is
 * open for the host (and only from the server that opened it); returns whether it sent.
 */
export async function notifyEvent(ctx: EventContext, ev: { host: string; kind: FleetEventKind; message: string }): Promise<boolean> {
  const now = (ctx.now ?? Date.now)();
  const message = fleetEventFiring(asLanguage(ctx.config.alerts.language), { host: ev.host, kind: ev.kind, message: ev.message, since: now });
  const won = await claimOpen(ctx.db, { rshost: ev.host, kind: ev.kind, since: now, now, owner: ctx.owner ?? defaultOwner(), remarks: ev.message });
  if (!won) return false;
  countRaised(ev.kind);
  const notifier = notifierOf(ctx);
  await notifier.send({ host: ev.host, kind: ev.kind, state: "firing", since: now, time: now, message });
  return true;
}

/** Closes the incident when the host deploys fine again; sends a recovery unless `quiet`. */
export async function resolveEvent(ctx: EventContext, ev: { host: string; kind: FleetEventKind; quiet?: boolean }): Promise<boolean> {
  const row = await getAlert(ctx.db, ev.host, ev.kind);
  if (!row || row.istate <= 0) return false;
  const now = (ctx.now ?? Date.now)();
  const won = await claimResolve(ctx.db, { rshost: ev.host, kind: ev.kind, fromSent: row.sent, now, owner: ctx.owner ?? defaultOwner() });
  if (!won || ev.quiet) return won;
  const since = row.since ?? now;
  const notifier = notifierOf(ctx);
  await notifier.send({ host: ev.host, kind: ev.kind, state: "resolved", since, time: now, message: fleetEventResolved(asLanguage(ctx.config.alerts.language), { host: ev.host, kind: ev.kind, since, until: now }) });
  return true;
}
