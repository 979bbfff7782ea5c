// The agent side of the server-down alert. Every accepted report's reply names the witnesses (see
// src/alerts/witnesses.ts); this agent remembers the last list. After alerts.server_down_rounds rounds
// in a row that no server accepted, only the first witness of that list sends the alert, straight to
// the channels (agents hold channel URLs, never database credentials), and the same agent sends the
// recovery when a server accepts again. docs/alerts.md ("Server down") states when this sends zero or two alerts.
import { hostname } from "node:os";
import type { ResolvedConfig } from "../config/schema.ts";
import { asLanguage, serverDownFiring, serverDownResolved, type Language } from "../alerts/messages.ts";
import { notifierFromConfig, type Notifier } from "../alerts/notifier.ts";
import type { Logger } from "../log.ts";

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
  /** resolves when the alerts this watch started are delivered (or given up) */
  idle(): Promise<void>;
  readonly state: { failedRounds: number; witnesses: readonly string[]; alerting: boolean; since?: number };
}

const SERVER_DOWN = "server_down";

export function createServerDownWatch(o: ServerDownOptions): ServerDownWatch {
  const now = o.now ?? Date.now;
  const log = o.log.withTag("server-down");
  let failedRounds = 0;
  let witnesses: string[] = [];
  let since: number | undefined;
  let alerting = false;
  let lastServers: string[] = [];
  const pending = new Set<Promise<unknown>>();

  const deliver = (p: Promise<unknown>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  return {
    onRound(r) {
      // A refusal (4xx) still proves a server is up and answering: only silence or 5xx count.
      const answered = r.ok || r.servers.some((t) => t.kind === "rejected");
      if (r.servers.length) lastServers = r.servers.map((t) => t.server);
      if (answered) {
        const w = r.reply?.witnesses;
        if (Array.isArray(w) && w.every((x) => typeof x === "string")) witnesses = w as string[];
        if (alerting) {
          const t = now();
          const message = serverDownResolved(o.language, { reporter: o.host, servers: lastServers, since: since!, until: t });
          deliver(o.notifier.send({ host: o.host, kind: SERVER_DOWN, state: "resolved", since: since!, time: t, message }));
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
      deliver(o.notifier.send({ host: o.host, kind: SERVER_DOWN, state: "firing", since, time: t, message }));
    },
    async idle() {
      while (pending.size) await Promise.all([...pending]);
    },
    get state() {
      return { failedRounds, witnesses, alerting, since };
    },
  };
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
