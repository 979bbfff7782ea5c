// What an unauthenticated client can cost a real (compiled) server: a flood of random host names,
// then 100 concurrent 7.5 MiB bodies, with a real agent reporting throughout. Memory is read from
// /proc/PID/status of the server process; the margins are the ones the server promises
// (docs/security.md). Latencies are printed, not asserted (the machine is shared).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROUTES } from "../../../src/protocol/api.ts";
import { MISS_LOOKUPS_PER_S } from "../../../src/server/host-directory.ts";
import { openDb, type Db } from "../../../src/store/db.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { enrollNoDeploy, freePort, startAgent, startServer, waitHttp, type Proc } from "../../helpers/server/procs.ts";

const MiB = 1024 * 1024;
const FLOOD_REQUESTS = 200_000;
const FLOOD_WORKERS = 64;
const BIG_BODIES = 100;
const BIG_BODY_BYTES = 7.5 * MiB;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Samples RSS every 50 ms until stopped; returns the peak. */
function watchRss(pid: number): { stop(): number } {
  let peak = rssMiB(pid);
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {}
  }, 50);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, rssMiB(pid));
    },
  };
}

/** /healthz round trips while `busy` runs; returns the slowest, in ms. */
function watchHealthz(url: string): { stop(): Promise<{ slowestMs: number; p95Ms: number; answered: number; failed: number }> } {
  let slowestMs = 0;
  const times: number[] = [];
  let answered = 0;
  let failed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(url + ROUTES.healthz, { signal: AbortSignal.timeout(10_000) });
        await res.text();
        if (res.status === 200) answered++;
        else failed++;
      } catch {
        failed++;
      }
      slowestMs = Math.max(slowestMs, performance.now() - t0);
      times.push(performance.now() - t0);
      await Bun.sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      times.sort((a, b) => a - b);
      return { slowestMs, p95Ms: times[Math.floor(times.length * 0.95)] ?? 0, answered, failed };
    },
  };
}

/** The agent's delay from collecting a report to the server storing it, sampled from its host row. */
function watchAgent(db: Db, host: string): { stop(): Promise<{ worstMs: number; reports: number }> } {
  let worstMs = 0;
  let lastAgentTime = 0;
  let reports = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const row = (await db.query<{ a: number; r: number }>("SELECT last_agent_time AS a, last_report_at AS r FROM tb_monitor_host_config WHERE rshost = ?", [host]))[0];
      if (row && Number(row.a) > lastAgentTime) {
        if (lastAgentTime > 0) reports++;
        lastAgentTime = Number(row.a);
        worstMs = Math.max(worstMs, Number(row.r) - Number(row.a));
      }
      await Bun.sleep(200);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { worstMs, reports };
    },
  };
}

/** Runs flood-client.ts in its own process; returns its status counts. */
async function flood(url: string, args: string[]): Promise<Record<string, number>> {
  const p = Bun.spawn([process.execPath, join(import.meta.dir, "flood-client.ts"), url, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`flood-client failed (${code}): ${err}`);
  return JSON.parse(out) as Record<string, number>;
}

for (const backend of ["sqlite", "mariadb"] as const) {
  describe(`pre-authentication cost on ${backend}`, () => {
    let dir: string;
    let server: Proc;
    let agent: Proc;
    let db: Db;
    let url: string;
    const HOST = `flood-agent-${backend}`;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "pmon-preauth-"));
      const storage = backend === "sqlite" ? `sqlite:${join(dir, "pmon.db")}` : (await testMariaDB(`preauth_${process.pid}`)).url;
      const port = freePort();
      url = `http://127.0.0.1:${port}`;
      server = startServer(dir, storage, port, "server", { PMON_LOG_LEVEL: "warn" });
      await waitHttp(url);
      expect(await enrollNoDeploy(dir, storage, HOST, join(dir, "agent.key"))).toBe(0);
      agent = startAgent({ dir, host: HOST, servers: [url], secretFile: join(dir, "agent.key") });
      db = openDb(storage);
      // the agent's first reports, so its steady state is part of the baseline
      const deadline = Date.now() + 30_000;
      while (Number((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE rshost = ?", [HOST]))[0]!.n) < 3) {
        if (Date.now() > deadline) throw new Error(`agent did not report:\n${agent.text()}`);
        await Bun.sleep(200);
      }
    }, 90_000);

    afterAll(async () => {
      agent?.proc.kill("SIGTERM");
      server?.proc.kill("SIGTERM");
      await agent?.exited;
      await server?.exited;
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test("200,000 requests naming random hosts: RSS grows < 30 MB; the agent keeps reporting", async () => {
      const pid = server.proc.pid;
      const start = rssMiB(pid);
      const rss = watchRss(pid);
      const health = watchHealthz(url);
      const agentWatch = watchAgent(db, HOST);
      const cpu0 = cpuSeconds(pid);
      const t0 = performance.now();
      const statuses = await flood(url, ["hosts", String(FLOOD_REQUESTS), String(FLOOD_WORKERS)]);
      const seconds = (performance.now() - t0) / 1000;
      const serverCpu = cpuSeconds(pid) - cpu0;
      const peak = rss.stop();
      const h = await health.stop();
      const a = await agentWatch.stop();
      await Bun.sleep(2000);
      const end = rssMiB(pid);
      console.log(
        `[${backend}] ${FLOOD_REQUESTS} random-host requests in ${seconds.toFixed(1)} s (server CPU ${((serverCpu / FLOOD_REQUESTS) * 1e6).toFixed(0)} µs each): ${JSON.stringify(statuses)}; ` +
          `RSS ${start.toFixed(1)} -> peak ${peak.toFixed(1)} -> ${end.toFixed(1)} MiB; /healthz p95 ${h.p95Ms.toFixed(0)} ms, slowest ${h.slowestMs.toFixed(0)} ms (${h.answered} ok, ${h.failed} failed); ` +
          `agent: ${a.reports} reports, slowest collect-to-stored ${a.worstMs} ms`,
      );
      // Refused from the in-memory list of enrolled hosts: only MISS_LOOKUPS_PER_S names a second reach
      // the store (each a 403 unknown_host); the rest are 503s without a store query.
      expect((statuses["403"] ?? 0) + (statuses["503"] ?? 0)).toBe(FLOOD_REQUESTS);
      expect(statuses["403"] ?? 0).toBeLessThanOrEqual(MISS_LOOKUPS_PER_S * (seconds + 1));
      expect(end - start).toBeLessThan(30);
      expect(peak - start).toBeLessThan(30);
      expect(h.answered).toBeGreaterThan(0);
      expect(a.reports).toBeGreaterThan(0);
    }, 600_000);

    test("100 concurrent unauthenticated 7.5 MiB bodies: peak < 300 MB, back within 50 MB; known host with a bad signature stays under the in-flight cap", async () => {
      const pid = server.proc.pid;
      const start = rssMiB(pid);
      const run = (kind: string) => flood(url, ["big", String(BIG_BODIES), String(BIG_BODY_BYTES), kind, HOST]);
      const rss = watchRss(pid);
      const health = watchHealthz(url);
      const agentWatch = watchAgent(db, HOST);
      // unknown hosts, then a stale time, then a malformed signature: refused from the headers alone
      const unknown = await run("unknown");
      const stale = await run("stale");
      const malformed = await run("malformed");
      const unauthPeak = rss.stop();
      const h = await health.stop();
      // the enrolled host's name with a wrong signature: these bodies are read and hashed, within the cap
      const rss2 = watchRss(pid);
      const health2 = watchHealthz(url);
      const badSig = await run("badsig");
      const knownPeak = rss2.stop();
      const h2 = await health2.stop();
      const a = await agentWatch.stop();
      // give the allocator a moment to hand memory back
      let end = rssMiB(pid);
      for (let i = 0; i < 20 && end - start >= 50; i++) {
        await Bun.sleep(500);
        end = rssMiB(pid);
      }
      console.log(
        `[${backend}] ${BIG_BODIES} x 7.5 MiB: unknown ${JSON.stringify(unknown)}, stale ${JSON.stringify(stale)}, malformed ${JSON.stringify(malformed)}; ` +
          `RSS ${start.toFixed(1)} -> peak ${unauthPeak.toFixed(1)} MiB, /healthz p95 ${h.p95Ms.toFixed(0)} ms, slowest ${h.slowestMs.toFixed(0)} ms (${h.answered} ok, ${h.failed} failed); ` +
          `known host, bad signature ${JSON.stringify(badSig)} -> peak ${knownPeak.toFixed(1)}, /healthz p95 ${h2.p95Ms.toFixed(0)} ms, slowest ${h2.slowestMs.toFixed(0)} ms (${h2.answered} ok, ${h2.failed} failed); ` +
          `after ${end.toFixed(1)} MiB; agent: ${a.reports} reports, slowest collect-to-stored ${a.worstMs} ms`,
      );
      expect((unknown["403"] ?? 0) + (unknown["503"] ?? 0)).toBe(BIG_BODIES);
      expect(stale["401"]).toBe(BIG_BODIES);
      expect(malformed["401"]).toBe(BIG_BODIES);
      // each bad-signature body was either read and refused (401) or refused unread as over the cap (503)
      expect((badSig["401"] ?? 0) + (badSig["503"] ?? 0)).toBe(BIG_BODIES);
      expect(unauthPeak - start).toBeLessThan(300);
      expect(knownPeak - start).toBeLessThan(300);
      expect(end - start).toBeLessThan(50);
      expect(h.answered).toBeGreaterThan(0);
      expect(h2.answered).toBeGreaterThan(0);
      expect(a.reports).toBeGreaterThan(0);
    }, 600_000);
  });
}
