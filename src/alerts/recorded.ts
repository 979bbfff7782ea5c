// A notifier that writes every message it sends into the alert log (tb_monitor_alert_log) with its
// outcome. The server's alert paths all send through one, so the log holds each message once: the
// incident claims already make sure only one server sends it.
import type { Logger } from "../log.ts";
import { recordAlerts, type AlertLogEntry } from "../store/alert-log.ts";
import type { Db } from "../store/db.ts";
import type { AlertEvent } from "./event.ts";
import type { Notifier } from "./notifier.ts";

const RECORDED = Symbol("recorded");

export function logEntry(e: AlertEvent, delivered: boolean, channels: number, sender: string): AlertLogEntry {
  return {
    rshost: e.host,
    kind: e.kind,
    state: e.state === "resolved" ? "resolved" : e.repeat ? "repeat" : "firing",
    since: e.since,
    time: e.time,
    message: e.message,
    delivered,
    channels,
    sender,
  };
}

/** Wraps `inner` so what it sends is recorded; a notifier already wrapped is returned as is. */
export function recordingNotifier(inner: Notifier, o: { db: Db; sender: string; log: Logger }): Required<Notifier> {
  if ((inner as { [RECORDED]?: true })[RECORDED]) return inner as Required<Notifier>;
  const log = o.log.withTag("alerts");
  const sendEach = async (events: readonly AlertEvent[]): Promise<boolean[]> => {
    if (events.length === 0) return [];
    const outcome = inner.sendEach
      ? await inner.sendEach(events)
      : inner.sendAll
        ? Array<boolean>(events.length).fill(await inner.sendAll(events))
        : await Promise.all(events.map((e) => inner.send(e)));
    // A store error must not turn a delivered alert into a failure: the message went out.
    await recordAlerts(
      o.db,
      events.map((e, i) => logEntry(e, outcome[i]!, inner.channelCount, o.sender)),
    ).catch((err) => log.warn(`alert log: could not record ${events.length} message(s): ${(err as Error).message}`));
    return outcome;
  };
  const sendAll = async (events: readonly AlertEvent[]) => (await sendEach(events)).every(Boolean);
  return {
    [RECORDED]: true,
    channelCount: inner.channelCount,
    send: async (e) => (await sendEach([e]))[0]!,
    sendAll,
    sendEach,
  } as Required<Notifier>;
}
