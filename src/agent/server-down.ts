// The agent side of the server-down alert. Every accepted report's reply names the witnesses (see
// src/alerts/witnesses.ts); this agent remembers the last list. After alerts.server_down_rounds rounds
// in a row that no server accepted, only the first witness of that list sends the alert, straight to
// the channels (agents hold channel URLs, never database credentials), and the same agent sends the
// recovery when a server accepts again. docs/alerts.md ("Server down") states when this sends zero or two alerts.
import { hostname } from "node:os";
import type { ResolvedConfig } from "../config/schema.ts";
import { asLanguage, serverDownFiring, serverDownResolved, type Language } from "../alerts/messages.ts";
import { notifierFromConfig, type Notifier } from "../alerts/notifier.ts";
import type { AlertEvent } from "../alerts/event.ts";
import type { Logger } from "../log.ts";
import { MAX_ALERTS_SENT, type Report, type SentAlert } from "../protocol/report.ts";

/** What the agent loop reports after each round (structurally the loop's RoundResult). */
export interface RoundOutcome {
  ok: boolean;
  reply?: { witnesses?: unknown; [k: string]: unknown };
  servers: readonly { server: string; kind: string; status: number | null }[];
}

export interface ServerDownOptions {
  /** this agent's host name, exactly as it appears in reports */
  host: string;
  rounds: number;
  language: Language;
  notifier: Notifier;
  log: Logger;
  now?: () => number;
}

export interface ServerDownWatch {
  onRound(r: RoundOutcome): void;
  /**
   * The alerts sent and not yet in an accepted report, for the report about to be sent (its
   * alerts_sent); undefined when there are none. An accepted round forgets what it carried.
   */
  takeSent(): SentAlert[] | undefined;
  /** resolves when the alerts this watch started are delivered (or given up) */
  idle(): Promise<void>;
  readonly state: { failedRounds: number; witnesses: readonly string[]; alerting: boolean; since?: number };
}

const SERVER_DOWN = "server_down";
const MESSAGE_MAX = 4000;

export function createServerDownWatch(o: ServerDownOptions): ServerDownWatch {
  const now = o.now ?? Date.now;
  const log = o.log.withTag("server-down");
  let failedRounds = 0;
  let witnesses: string[] = [];
  let since: number | undefined;
  let alerting = false;
  let lastServers: string[] = [];
  const pending = new Set<Promise<unknown>>();

  // what was sent, until a report carrying it is accepted (the server records it in its alert log)
  const outbox: { alert: SentAlert; carried: boolean }[] = [];
  const deliver = (e: AlertEvent) => {
    const p = o.notifier.send(e).then(
      (delivered) => {
        outbox.push({
          alert: { kind: e.kind, state: e.state, since: e.since, time: e.time, message: e.message.slice(0, MESSAGE_MAX), delivered, channels: o.notifier.channelCount },
          carried: false,
        });
        // the oldest go first if no server has been reachable for a very long time
        if (outbox.length > MAX_ALERTS_SENT) outbox.splice(0, outbox.length - MAX_ALERTS_SENT);
      },
      (err) => log.warn(`server-down alert not sent: ${(err as Error).message}`),
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  return {
    takeSent() {
      if (outbox.length === 0) return undefined;
      for (const x of outbox) x.carried = true;
      return outbox.map((x) => x.alert);
    },
    onRound(r) {
      // the report of this round was accepted: what it carried is recorded
      if (r.ok) for (let i = outbox.length - 1; i >= 0; i--) if (outbox[i]!.carried) outbox.splice(i, 1);
      // A refusal (4xx) still proves a server is up and answering: only silence or 5xx count.
      const answered = r.ok || r.servers.some((t) => t.kind === "rejected");
      if (r.servers.length) lastServers = r.servers.map((t) => t.server);
      if (answered) {
        const w = r.reply?.witnesses;
        if (Array.isArray(w) && w.every((x) => typeof x === "string")) witnesses = w as string[];
        if (alerting) {
          const t = now();
          const message = serverDownResolved(o.language, { reporter: o.host, servers: lastServers, since: since!, until: t });
          deliver({ host: o.host, kind: SERVER_DOWN, state: "resolved", since: since!, time: t, message });
          alerting = false;
        }
        failedRounds = 0;
        since = undefined;
        return;
      }
      failedRounds++;
      since ??= now();
      if (failedRounds !== o.rounds) return;
      const rank = witnesses.indexOf(o.host);
      if (rank !== 0) {
        log.warn(`no server accepted ${failedRounds} rounds in a row; witness ${witnesses[0] ?? "(none known)"} raises the alert${rank > 0 ? ` (this host is witness #${rank + 1})` : ""}`);
        return;
      }
      alerting = true;
      const t = now();
      const message = serverDownFiring(o.language, { reporter: o.host, servers: lastServers, since, rounds: failedRounds });
      log.error(`no server accepted ${failedRounds} rounds in a row; this host is the first witness: alerting`);
      deliver({ host: o.host, kind: SERVER_DOWN, state: "firing", since, time: t, message });
    },
    async idle() {
      while (pending.size) await Promise.all([...pending]);
    },
    get state() {
      return { failedRounds, witnesses, alerting, since };
    },
  };
}

/** The report with the alerts this agent sent and no server recorded yet (its alerts_sent). */
export function withSentAlerts(report: Report | null, watch: Pick<ServerDownWatch, "takeSent">): Report | null {
  const sent = report && watch.takeSent();
  return report && sent ? { ...report, alerts_sent: sent } : report;
}

/** The watch `pmon agent` installs as its onRound hook. */
export function serverDownWatchFromConfig(config: ResolvedConfig, log: Logger, host = config.agent.host || hostname()): ServerDownWatch {
  return createServerDownWatch({
    host,
    rounds: config.alerts.server_down_rounds,
    language: asLanguage(config.alerts.language),
    notifier: notifierFromConfig(config, log),
    log,
  });
}
