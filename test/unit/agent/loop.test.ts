// The reporting loop against an in-process server: failover, spooling through an outage and
// replaying exactly once, rejected reports, the upgrade exit code, and ticks that never overlap.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAgentLoop, type RoundResult } from "../../../src/agent/loop.ts";
import { Spool } from "../../../src/agent/spool.ts";
import { createTransport } from "../../../src/agent/transport.ts";
import { createLogger } from "../../../src/log.ts";
import { EXIT_UPGRADE, newKeyPair } from "../../../src/protocol/api.ts";
import { VERSION } from "../../../src/version.ts";
import { validReport } from "../../helpers/server/fixtures.ts";
import { deadUrl, startTestServer, until, type TestServer } from "../../helpers/agent/harness.ts";

const log = createLogger("silent");
let srv: TestServer;
const dirs: string[] = [];

beforeAll(async () => {
  srv = await startTestServer(["a1", "a2", "a3", "a4"]);
});
afterAll(async () => {
  await srv.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function agent(host: string, servers: string[], opts: { intervalMs?: number; collectMs?: number; secret?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "pmon-agent-"));
  dirs.push(dir);
  const spool = new Spool(join(dir, "spool"), { maxBytes: 1e9, maxAgeMs: 1e12 }, log);
  const stop = new AbortController();
  let seq = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const rounds: RoundResult[] = [];
  const done = runAgentLoop({
    intervalMs: opts.intervalMs ?? 50,
    jitterMs: 0,
    replayPerS: 200,
    collect: async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (opts.collectMs) await Bun.sleep(opts.collectMs);
      inFlight--;
      return validReport(host, `${host}-${++seq}`, Date.now(), 1);
    },
    transport: createTransport({ servers, secret: opts.secret ?? srv.secrets[host]!, serverKeys: srv.serverKeys, log, timeoutMs: 5000 }),
    spool,
    log,
    version: VERSION,
    onRound: (r) => {
      rounds.push(r);
    },
    signal: stop.signal,
  });
  return { spool, stop, done, rounds, seq: () => seq, maxInFlight: () => maxInFlight };
}

const hostRows = async (host: string) =>
  (await srv.db.query<{ n: number; d: number }>("SELECT COUNT(*) AS n, COUNT(DISTINCT a_time) AS d FROM tb_monitor_host_info WHERE rshost = ?", [host]))[0]!;
const seenIds = async (host: string) =>
  (await srv.db.query<{ report_id: string }>("SELECT report_id FROM tb_monitor_report_seen WHERE rshost = ? ORDER BY report_id", [host])).map((r) => r.report_id);

describe("agent loop", () => {
  test("fails over past a dead server and delivers every report once", async () => {
    const a = agent("a1", [deadUrl(), srv.url]);
    await until(() => a.rounds.filter((r) => r.ok).length >= 5, 30_000, "5 delivered rounds");
    a.stop.abort();
    const { exitCode, stats } = await a.done;
    expect(exitCode).toBe(0);
    expect(stats.spooled).toBe(0);
    expect(a.rounds[0]!.servers.map((t) => t.kind)).toEqual(["retry", "delivered"]);
    // the server that accepted becomes the first choice
    expect(a.rounds.at(-1)!.servers.map((t) => t.kind)).toEqual(["delivered"]);
    expect(Number((await hostRows("a1")).n)).toBe(stats.delivered);
  });

  test("spools through an outage and replays every report exactly once", async () => {
    srv.mode = "503";
    const a = agent("a2", [srv.url]);
    await until(() => a.spool.size >= 8, 30_000, "8 spooled reports");
    expect(a.rounds.every((r) => !r.ok)).toBe(true);
    srv.mode = "up";
    await until(() => a.spool.size === 0 && a.rounds.filter((r) => r.ok).length >= 2, 30_000, "the spool to drain");
    a.stop.abort();
    const { stats } = await a.done;
    const ids = await seenIds("a2");
    const expected = Array.from({ length: a.seq() }, (_, i) => `a2-${i + 1}`).sort();
    expect(ids).toEqual(expected);
    expect(Number((await hostRows("a2")).n)).toBe(a.seq());
    expect(stats.replayed).toBe(stats.spooled);
    expect(srv.core.metrics.replays.get()).toBeGreaterThanOrEqual(stats.spooled);
  });

  test("a report the server refuses for good is dropped, not spooled", async () => {
    const a = agent("a3", [srv.url], { secret: newKeyPair().privateKeyPem });
    await until(() => a.rounds.length >= 3, 30_000, "3 rounds");
    a.stop.abort();
    const { stats } = await a.done;
    expect(stats.rejected).toBeGreaterThanOrEqual(3);
    expect(a.spool.size).toBe(0);
    expect(Number((await hostRows("a3")).n)).toBe(0);
  });

  test("a server of another version makes the agent exit with EXIT_UPGRADE", async () => {
    srv.mode = "override";
    srv.override = (req) => srv.signedReply(req, 200, { ok: true, server_version: "99.0.0" });
    const a = agent("a4", [srv.url]);
    const { exitCode } = await a.done;
    srv.mode = "up";
    expect(exitCode).toBe(EXIT_UPGRADE);
  });

  test("an agent whose clock is an hour off learns the server's time from the stale refusal", async () => {
    const skewed = () => Date.now() - 3_600_000;
    const t = createTransport({ servers: [srv.url], secret: srv.secrets.a1!, serverKeys: srv.serverKeys, log, now: skewed });
    const report = validReport("a1", "a1-clock-1", skewed(), 1);
    const out = await t.send(JSON.stringify(report), { host: "a1", replay: false });
    expect(out.result.kind).toBe("delivered");
    expect(out.tried.map((x) => x.kind)).toEqual(["delivered"]);
    expect(await seenIds("a1")).toContain("a1-clock-1");
  });

  test("a collection longer than the interval skips ticks instead of overlapping", async () => {
    const a = agent("a1", [srv.url], { intervalMs: 40, collectMs: 100 });
    await until(() => a.rounds.length >= 4, 30_000, "4 rounds");
    a.stop.abort();
    const { stats } = await a.done;
    expect(a.maxInFlight()).toBe(1);
    expect(stats.skippedTicks).toBeGreaterThanOrEqual(4);
  });
});
