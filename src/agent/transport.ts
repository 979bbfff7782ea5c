// Sending one report to the first server that takes it, failing over down agent.servers.
// A report is sent to the next server only when the previous one certainly or probably did not
// store it (5xx, network error, timeout); the servers share one store, where the report id makes a
// second copy a duplicate rather than a second row.
import type { KeyObject } from "node:crypto";
import { postReport, type PostResult } from "../client/api.ts";
import type { Logger } from "../log.ts";

export interface SendOutcome {
  result: PostResult;
  /** the server that answered last (the one that delivered, when delivered) */
  server: string;
  /** every server tried, with its outcome kind */
  tried: { server: string; kind: PostResult["kind"]; status: number | null; code?: string }[];
}

export interface Transport {
  send(json: string, opts: { host: string; replay: boolean }): Promise<SendOutcome>;
  readonly servers: readonly string[];
}

export interface TransportOptions {
  servers: readonly string[];
  /** the host's private key (PEM) */
  secret: string;
  /** pinned public keys of the servers' reply key */
  serverKeys: readonly KeyObject[];
  /** PEM CA certificates for https servers */
  ca?: string;
  log: Logger;
  timeoutMs?: number;
  now?: () => number;
}

export function createTransport(o: TransportOptions): Transport {
  if (o.servers.length === 0) throw new Error("agent.servers is empty: nowhere to report");
  if (o.serverKeys.length === 0) throw new Error("no server key pinned (agent.server_keys): replies could not be trusted");
  const signing = { secret: o.secret, serverKeys: o.serverKeys, ...(o.ca ? { ca: o.ca } : {}) };
  const now = o.now ?? Date.now;
  // learned from a "stale timestamp" refusal so a host with a wrong clock can still sign acceptably
  let clockOffsetMs = 0;
  // the server that accepted last goes first, so an agent stays with one server while it works
  let preferred = 0;

  async function sendOnce(server: string, json: string, host: string, replay: boolean): Promise<PostResult> {
    let result = await postReport(server, { ...signing, host, json, replay, timeMs: now() + clockOffsetMs, timeoutMs: o.timeoutMs });
    if (result.kind === "retry" && result.code === "stale_timestamp" && result.serverTime !== undefined) {
      clockOffsetMs = result.serverTime - now();
      o.log.warn(`${server} says this host's clock is off by ${Math.round(-clockOffsetMs / 1000)} s; signing with the server's time`);
      result = await postReport(server, { ...signing, host, json, replay, timeMs: now() + clockOffsetMs, timeoutMs: o.timeoutMs });
    }
    return result;
  }

  return {
    servers: o.servers,
    async send(json, { host, replay }) {
      const tried: SendOutcome["tried"] = [];
      let last: PostResult | undefined;
      let lastServer = o.servers[preferred]!;
      for (let k = 0; k < o.servers.length; k++) {
        const i = (preferred + k) % o.servers.length;
        const server = o.servers[i]!;
        const result = await sendOnce(server, json, host, replay);
        tried.push({ server, kind: result.kind, status: result.status, ...("code" in result ? { code: result.code } : {}) });
        last = result;
        lastServer = server;
        if (result.kind === "delivered" || result.kind === "rejected") {
          if (result.kind === "delivered") preferred = i;
          break;
        }
        o.log.debug(`${server}: ${result.status ?? "no answer"} ${result.code}: ${result.error}`);
      }
      return { result: last!, server: lastServer, tried };
    },
  };
}
