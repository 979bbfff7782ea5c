// The agent's reporting loop: collect on absolute ticks (fixed random phase per agent so a fleet does
// not report in lockstep), deliver to the first server that accepts, spool what nobody accepts, and
// replay the spool oldest first at a bounded rate once a server takes reports again.
import type { Logger } from "../log.ts";
import { EXIT_UPGRADE } from "../protocol/api.ts";
import type { Report } from "../protocol/report.ts";
import type { Spool } from "./spool.ts";
import type { SendOutcome, Transport } from "./transport.ts";

/** What onRound (src/agent/server-down.ts) receives after each round. */
export interface RoundResult {
  ok: boolean;
  reply?: Extract<SendOutcome["result"], { kind: "delivered" }>["reply"];
  servers: SendOutcome["tried"];
}

export interface AgentLoopOptions {
  intervalMs: number;
  jitterMs: number;
  replayPerS: number;
  /** null = nothing to send this round (the collector's first call only primes its counters) */
  collect: () => Promise<Report | null> | Report | null;
  transport: Transport;
  spool: Spool;
  log: Logger;
  version: string;
  /** called after each round (the server-down hook) */
  onRound?: (r: RoundResult) => Promise<void> | void;
  /** stop after the current round */
  signal?: AbortSignal;
  now?: () => number;
  /** phase within the interval; default random in [0, jitterMs) */
  phaseMs?: number;
}

export interface AgentStats {
  rounds: number;
  delivered: number;
  rejected: number;
  spooled: number;
  replayed: number;
  skippedTicks: number;
}

/** Runs until the signal aborts (resolves 0) or a server of another version answers (resolves EXIT_UPGRADE). */
export async function runAgentLoop(o: AgentLoopOptions): Promise<{ exitCode: number; stats: AgentStats }> {
  const now = o.now ?? Date.now;
  const log = o.log.withTag("agent");
  const interval = o.intervalMs;
  const phase = (o.phaseMs ?? Math.random() * o.jitterMs) % interval;
  const stats: AgentStats = { rounds: 0, delivered: 0, rejected: 0, spooled: 0, replayed: 0, skippedTicks: 0 };
  let upgradeTo: string | undefined;
  let replaying: Promise<void> | undefined;

  const checkVersion = (serverVersion: unknown) => {
    if (typeof serverVersion === "string" && serverVersion && serverVersion !== o.version && !upgradeTo) {
      upgradeTo = serverVersion;
      log.info(`server runs pmon ${serverVersion}, this agent ${o.version}: exiting with code ${EXIT_UPGRADE} for an upgrade`);
    }
  };
  const stopped = () => o.signal?.aborted === true || upgradeTo !== undefined;

  async function replaySpool(): Promise<void> {
    const gapMs = 1000 / o.replayPerS;
    while (!stopped()) {
      const next = o.spool.oldest();
      if (!next) return;
      const started = now();
      const host = hostOf(next.json);
      const out = await o.transport.send(next.json, { host, replay: true });
      if (out.result.kind === "delivered") {
        o.spool.remove(next.entry);
        stats.replayed++;
        checkVersion(out.result.reply.server_version);
      } else if (out.result.kind === "rejected") {
        o.spool.remove(next.entry);
        stats.rejected++;
        log.warn(`spooled report ${next.entry.name} rejected by ${out.server} (${out.result.status} ${out.result.code}): ${out.result.error}; dropped`);
      } else {
        log.debug(`replay paused: ${out.result.code} ${out.result.error}`);
        return;
      }
      const wait = gapMs - (now() - started);
      if (wait > 0) await sleep(wait, o.signal);
    }
  }

  async function round(): Promise<void> {
    stats.rounds++;
    let report: Report | null;
    try {
      report = await o.collect();
    } catch (e) {
      log.error(`collection failed: ${(e as Error).message}`);
      return;
    }
    if (!report) return;
    const json = JSON.stringify(report);
    const out = await o.transport.send(json, { host: report.host, replay: false });
    const r = out.result;
    if (r.kind === "delivered") {
      stats.delivered++;
      checkVersion(r.reply.server_version);
    } else if (r.kind === "rejected") {
      stats.rejected++;
      log.warn(`report ${report.id} rejected by ${out.server} (${r.status} ${r.code}): ${r.error}; dropped`);
    } else {
      try {
        o.spool.add(report.id, report.time, json, now());
        stats.spooled++;
        log.warn(`no server accepted report ${report.id} (${out.tried.map((t) => `${t.server}: ${t.status ?? t.code}`).join(", ")}); spooled (${o.spool.size} waiting)`);
      } catch (e) {
        log.error(`cannot spool report ${report.id}: ${(e as Error).message}`);
      }
    }
    try {
      await o.onRound?.({ ok: r.kind === "delivered", ...(r.kind === "delivered" ? { reply: r.reply } : {}), servers: out.tried });
    } catch (e) {
      log.warn(`onRound hook failed: ${(e as Error).message}`);
    }
    if (r.kind === "delivered" && o.spool.size > 0 && !replaying) {
      replaying = replaySpool()
        .catch((e) => log.error(`spool replay failed: ${(e as Error).message}`))
        .finally(() => {
          replaying = undefined;
        });
    }
  }

  const nextTick = (t: number) => Math.floor((t - phase) / interval) * interval + phase + interval;
  let tick = nextTick(now());
  log.info(`reporting every ${interval / 1000} s (phase ${(phase / 1000).toFixed(2)} s) to ${o.transport.servers.join(", ")}; ${o.spool.size} report(s) spooled`);
  // a spool left from a previous run is replayed as soon as a server answers
  while (!stopped()) {
    await sleep(tick - now(), o.signal);
    if (stopped()) break;
    await round();
    // Schedule on absolute ticks: an overrun skips the ticks it covered instead of drifting or overlapping.
    const following = nextTick(now());
    const missed = Math.round((following - tick) / interval) - 1;
    if (missed > 0) {
      stats.skippedTicks += missed;
      log.warn(`round took longer than the interval: skipped ${missed} tick(s)`);
    }
    tick = following;
  }
  if (replaying) await replaying;
  return { exitCode: upgradeTo ? EXIT_UPGRADE : 0, stats };
}

function hostOf(json: string): string {
  try {
    const h = (JSON.parse(json) as { host?: unknown }).host;
    return typeof h === "string" ? h : "";
  } catch {
    return "";
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
