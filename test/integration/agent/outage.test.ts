// Outages with the compiled binaries and MariaDB, run side by side on one timeline:
//  A: the server is killed (kill -9) for 2 minutes while its agent reports every second;
//  B: MariaDB is stopped for 1 minute (the server answers 503, the agent spools);
//  C: the agent is killed with kill -9 while spooling and again while replaying, and restarted.
// Afterwards every report each agent wrote is in the database exactly once: host_info rows equal
// stored report ids, and each agent run's sequence numbers are 1..max without a gap.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, sqlTime, type Db } from "../../../src/store/db.ts";
import { testMariaDB, type TestMariaDB } from "../../helpers/mariadb.ts";
import { enrollNoDeploy, freePort, startAgent, startServer, waitHttp, type Proc } from "../../helpers/server/procs.ts";
import { until } from "../../helpers/agent/harness.ts";

const SERVER_OUTAGE_MS = 120_000;
const DB_OUTAGE_MS = 60_000;

let maria: TestMariaDB;
let dir: string;
let db: Db;
const procs: Proc[] = [];

beforeAll(async () => {
  maria = await testMariaDB("pmon_outage");
  dir = mkdtempSync(join(tmpdir(), "pmon-outage-"));
  db = openDb(maria.url);
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.proc.exitCode === null) p.proc.kill("SIGKILL");
  await db.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

const spooled = (name: string) => {
  const d = join(dir, name, "spool");
  return existsSync(d) ? readdirSync(d).filter((n) => n.endsWith(".json")).length : 0;
};
const rows = async (host: string) => Number((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE rshost = ?", [host]))[0]!.n);

/** Every stored report once, and no gap inside any agent run's sequence. */
async function checkExactlyOnce(host: string): Promise<{ reports: number; runs: number }> {
  const n = await rows(host);
  const ids = (await db.query<{ report_id: string }>("SELECT report_id FROM tb_monitor_report_seen WHERE rshost = ?", [host])).map((r) => r.report_id);
  expect({ host, rows: n }).toEqual({ host, rows: ids.length });
  const runs = new Map<string, number[]>();
  for (const id of ids) {
    const m = /^(.*)-(\d+)$/.exec(id)!;
    runs.set(m[1]!, [...(runs.get(m[1]!) ?? []), Number(m[2])]);
  }
  for (const [run, seqs] of runs) {
    seqs.sort((a, b) => a - b);
    const expected = Array.from({ length: seqs.at(-1)! }, (_, i) => i + 1);
    expect({ host, run, seqs }).toEqual({ host, run, seqs: expected });
  }
  return { reports: n, runs: runs.size };
}

test("server down 2 min, MariaDB down 1 min, agent kill -9 mid-spool: every report stored exactly once", async () => {
  const ports = { a: freePort(), b: freePort(), c: freePort() };
  const url = (p: number) => `http://127.0.0.1:${p}`;
  const servers = { a: startServer(dir, maria.url, ports.a, "server-a"), b: startServer(dir, maria.url, ports.b, "server-b"), c: startServer(dir, maria.url, ports.c, "server-c") };
  procs.push(...Object.values(servers));
  await Promise.all(Object.values(ports).map((p) => waitHttp(url(p))));
  const secret = (h: string) => join(dir, `${h}.secret`);
  for (const h of ["out-a", "out-b", "out-c"]) expect(await enrollNoDeploy(dir, maria.url, h, secret(h))).toBe(0);

  const agentOpts = (h: string, port: number, env: Record<string, string> = {}) => ({ dir, host: h, servers: [url(port)], secretFile: secret(h), env });
  const agents = {
    a: startAgent(agentOpts("out-a", ports.a)),
    b: startAgent(agentOpts("out-b", ports.b)),
    c: startAgent(agentOpts("out-c", ports.c, { PMON_AGENT_REPLAY_PER_S: "4" })),
  };
  procs.push(...Object.values(agents));
  for (const h of ["out-a", "out-b", "out-c"]) await until(async () => (await rows(h)) >= 3, 60_000, `first reports of ${h}`);

  // --- the outages begin together ---
  const t0 = Date.now();
  servers.a.proc.kill("SIGKILL");
  servers.c.proc.kill("SIGKILL");
  await Promise.all([servers.a.exited, servers.c.exited]);
  await maria.stop();

  // C: kill -9 while it spools, restart at once
  await until(() => spooled("out-c") >= 10, 60_000, "C to spool");
  agents.c.proc.kill("SIGKILL");
  await agents.c.exited;
  agents.c = startAgent(agentOpts("out-c", ports.c, { PMON_AGENT_REPLAY_PER_S: "4" }), "out-c");
  procs.push(agents.c);

  // B: MariaDB back after a minute; server B answered 503 meanwhile
  await Bun.sleep(Math.max(0, t0 + DB_OUTAGE_MS - Date.now()));
  expect(spooled("out-b")).toBeGreaterThan(0);
  await maria.start();
  expect(servers.b.text()).toMatch(/503 .*unavailable/);

  // C: its server comes back; kill -9 the agent in the middle of the replay
  servers.c = startServer(dir, maria.url, ports.c, "server-c");
  procs.push(servers.c);
  await waitHttp(url(ports.c));
  const cBacklog = spooled("out-c");
  expect(cBacklog).toBeGreaterThanOrEqual(10);
  await until(() => spooled("out-c") <= cBacklog - 5, 60_000, "C to replay part of its spool");
  agents.c.proc.kill("SIGKILL");
  await agents.c.exited;
  expect(spooled("out-c")).toBeGreaterThan(0);
  agents.c = startAgent(agentOpts("out-c", ports.c, { PMON_AGENT_REPLAY_PER_S: "20" }), "out-c");
  procs.push(agents.c);

  // A: the server comes back after two minutes
  await Bun.sleep(Math.max(0, t0 + SERVER_OUTAGE_MS - Date.now()));
  expect(spooled("out-a")).toBeGreaterThanOrEqual(10);
  servers.a = startServer(dir, maria.url, ports.a, "server-a");
  procs.push(servers.a);
  await waitHttp(url(ports.a));

  for (const h of ["out-a", "out-b", "out-c"]) await until(() => spooled(h) === 0, 90_000, `${h}'s spool to drain`);
  for (const a of Object.values(agents)) a.proc.kill("SIGTERM");
  for (const a of Object.values(agents)) expect(await a.exited).toBe(0);

  const a = await checkExactlyOnce("out-a");
  const b = await checkExactlyOnce("out-b");
  const c = await checkExactlyOnce("out-c");
  expect(a.runs).toBe(1);
  expect(b.runs).toBe(1);
  expect(c.runs).toBe(3);
  // replayed reports keep their sample time: A has rows from inside its server's outage
  const during = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE rshost = 'out-a' AND a_time BETWEEN ? AND ?", [
    sqlTime(t0 + 5_000),
    sqlTime(t0 + SERVER_OUTAGE_MS - 5_000),
  ]);
  expect(Number(during[0]!.n)).toBeGreaterThanOrEqual(10);
  expect(a.reports + b.reports + c.reports).toBeGreaterThan(0);

  for (const s of Object.values(servers)) s.proc.kill("SIGTERM");
  for (const s of Object.values(servers)) expect(await s.exited).toBe(0);
}, 360_000);
