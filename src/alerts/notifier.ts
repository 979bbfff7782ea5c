// Sends one AlertEvent to every configured channel at once, retrying each with backoff.
// Logs name the channel type and URL host only: robot URLs carry their key.
import type { AlertChannel, ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { buildRequest, checkResponse, describeChannel } from "./channels.ts";
import type { AlertEvent } from "./event.ts";
import { alertMetrics } from "./metrics.ts";

export interface NotifierOptions {
  channels: readonly AlertChannel[];
  log: Logger;
  /** attempts per channel (default 3) */
  tries?: number;
  /** first backoff; doubles each retry (default 1000 ms: 1 s, 2 s, 4 s) */
  backoffMs?: number;
  /** per-request timeout (alerts.timeout_s) */
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

export interface Notifier {
  /** true when at least one channel accepted it (or there are no channels) */
  send(event: AlertEvent): Promise<boolean>;
  /**
   * Several alerts of one pass: the webhook gets one document each, robots get them joined into as
   * few messages as fit (robots rate-limit, WeCom to 20 messages a minute).
   */
  sendAll?(events: readonly AlertEvent[]): Promise<boolean>;
  /** sendAll with each event's own outcome: true when at least one channel accepted it */
  sendEach?(events: readonly AlertEvent[]): Promise<boolean[]>;
  readonly channelCount: number;
}

export function createNotifier(opts: NotifierOptions): Required<Notifier> {
  const tries = Math.max(1, opts.tries ?? 3);
  const backoffMs = opts.backoffMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const doFetch = opts.fetch ?? fetch;
  const log = opts.log.withTag("alerts");

  async function deliver(channel: AlertChannel, event: AlertEvent): Promise<boolean> {
    const name = describeChannel(channel);
    let reason = "";
    for (let attempt = 1; attempt <= tries; attempt++) {
      // Rebuilt per attempt: DingTalk and Feishu signatures carry a timestamp.
      const req = buildRequest(channel, event, now());
      try {
        const res = await doFetch(req.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: req.body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        const problem = checkResponse(channel, res.status, text);
        if (problem === null) {
          alertMetrics.delivered[channel.type]++;
          log.debug(`alert ${event.kind} for ${event.host} delivered via ${name}`);
          return true;
        }
        reason = problem;
      } catch (e) {
        // Errors from fetch may quote the URL; keep only the error's kind.
        reason = (e as Error).name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : `request failed (${(e as { code?: string }).code ?? (e as Error).name})`;
      }
      alertMetrics.attemptFailures[channel.type]++;
      if (attempt < tries) {
        log.warn(`alert ${event.kind} for ${event.host} via ${name}: attempt ${attempt}/${tries} failed: ${reason}; retrying`);
        await Bun.sleep(backoffMs * 2 ** (attempt - 1));
      }
    }
    alertMetrics.failed[channel.type]++;
    log.error(`alert ${event.kind} for ${event.host} via ${name} not delivered after ${tries} attempts: ${reason}`);
    return false;
  }

  async function sendEach(events: readonly AlertEvent[]): Promise<boolean[]> {
    if (events.length === 0) return [];
    for (const e of events) log.info(`alert ${opts.channels.length ? "" : "(no channel configured) "}${e.state} ${e.kind} ${e.host}: ${e.message}`);
    if (opts.channels.length === 0) return events.map(() => true);
    // per channel, per event: did the message carrying it get through
    const perChannel = await Promise.all(
      opts.channels.map(async (c) => {
        const groups = c.type === "webhook" ? events.map((e) => [e]) : groupForRobot(events);
        const ok = await Promise.all(groups.map((g) => deliver(c, g.length === 1 ? g[0]! : joined(g))));
        const byEvent = new Map<AlertEvent, boolean>();
        groups.forEach((g, i) => g.forEach((e) => byEvent.set(e, ok[i]!)));
        return events.map((e) => byEvent.get(e) ?? false);
      }),
    );
    return events.map((_, i) => perChannel.some((r) => r[i]));
  }

  async function sendAll(events: readonly AlertEvent[]): Promise<boolean> {
    const each = await sendEach(events);
    if (events.length === 0 || opts.channels.length === 0) return true;
    return each.every(Boolean);
  }

  return {
    channelCount: opts.channels.length,
    send: (event) => sendAll([event]),
    sendAll,
    sendEach,
  };
}

/** WeCom's text limit is 2048 bytes; stay under it with the time line added. */
const ROBOT_TEXT_BYTES = 1800;

/** Groups alerts into messages of at most ROBOT_TEXT_BYTES, one alert per line. */
function groupForRobot(events: readonly AlertEvent[]): AlertEvent[][] {
  const out: AlertEvent[][] = [];
  let group: AlertEvent[] = [];
  let bytes = 0;
  for (const e of events) {
    const size = Buffer.byteLength(e.message) + 1;
    if (group.length && bytes + size > ROBOT_TEXT_BYTES) {
      out.push(group);
      group = [];
      bytes = 0;
    }
    group.push(e);
    bytes += size;
  }
  if (group.length) out.push(group);
  return out;
}

/** One robot message for a group of alerts. */
function joined(group: readonly AlertEvent[]): AlertEvent {
  return {
    host: group.map((e) => e.host).join(","),
    kind: [...new Set(group.map((e) => e.kind))].join(","),
    state: group.every((e) => e.state === "resolved") ? "resolved" : "firing",
    since: Math.min(...group.map((e) => e.since)),
    time: Math.max(...group.map((e) => e.time)),
    message: group.map((e) => e.message).join("\n"),
  };
}

/** The notifier for config.alerts: its channels, retries and timeout. */
export function notifierFromConfig(config: ResolvedConfig, log: Logger): Required<Notifier> {
  const a = config.alerts;
  return createNotifier({ channels: a.channels, log, tries: a.tries, backoffMs: a.retry_backoff_ms, timeoutMs: a.timeout_s * 1000 });
}
