// The compiled binary end to end on loopback with MariaDB: `pmon enroll --no-deploy`, `pmon server`,
// `pmon agent`; rows land in every table the report feeds, in the old system's units; SIGTERM exits 0.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { getHosts } from "../../../src/client/api.ts";
import { openDb, type Db } from "../../../src/store/db.ts";
import { testMariaDB, type TestMariaDB } from "../../helpers/mariadb.ts";
import { until } from "../../helpers/agent/harness.ts";
import { enrollNoDeploy, freePort, spawnPmon, startAgent, startServer, waitHttp, type Proc } from "../../helpers/server/procs.ts";

let maria: TestMariaDB;
let dir: string;
let db: Db;
const procs: Proc[] = [];
/** mysql2 hands JSON columns back parsed; SQLite as text */
const j = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v) as Record<string, any>;

beforeAll(async () => {
  maria = await testMariaDB("pmon_e2e");
  dir = mkdtempSync(join(tmpdir(), "pmon-e2e-"));
  db = openDb(maria.url);
}, 60_000);

afterAll(async () => {
  for (const p of procs) p.proc.kill("SIGKILL");
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

test("server, enroll --no-deploy and agent: rows in every table, legacy units, clean SIGTERM", async () => {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = startServer(dir, maria.url, port);
  procs.push(server);
  await waitHttp(url);
  const secretFile = join(dir, "e2e-1.secret");
  expect(await enrollNoDeploy(dir, maria.url, "e2e-1", secretFile)).toBe(0);
  expect(statSync(secretFile).mode & 0o777).toBe(0o600);
  // a low memory threshold so this machine's processes are kept and the process tables fill
  const agent = startAgent({ dir, host: "e2e-1", servers: [url], secretFile, env: { PMON_THRESHOLDS_PROCESS_MEM_GIB: "0.01" } });
  procs.push(agent);

  await until(async () => Number((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE rshost = 'e2e-1'"))[0]!.n) >= 3, 60_000, "3 reports");

  const host = (await db.query<Record<string, unknown>>("SELECT * FROM tb_monitor_host_config WHERE rshost = 'e2e-1'"))[0]!;
  expect(Number(host.istate)).toBe(2);
  // the store holds the host's public key; the key file holds the private key and the pinned server key
  expect(String(host.secret_hash)).toMatch(/^ed25519:[A-Za-z0-9+/]{43}=$/);
  expect(readFileSync(secretFile, "utf8")).toContain("BEGIN PRIVATE KEY");
  expect(readFileSync(secretFile, "utf8")).not.toContain(String(host.secret_hash));
  expect(readFileSync(secretFile, "utf8")).toMatch(/^server-key ed25519:/m);
  expect(Math.abs(Date.now() - Number(host.last_report_at))).toBeLessThan(60_000);
  expect(host.agent_version).toBe("0.1.0");

  const hi = (await db.query<{ cpu_info: string; mem_info: string; io_info: string; net: string }>("SELECT cpu_info, mem_info, io_info, net FROM tb_monitor_host_info WHERE rshost = 'e2e-1' LIMIT 1"))[0]!;
  const cpu = j(hi.cpu_info);
  const mem = j(hi.mem_info);
  expect(cpu.total).toBe(cpus().length);
  // mem in GB, as the old system stored it
  const memTotalKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))![1]);
  expect(Math.abs(mem.total - memTotalKb / 1024 / 1024)).toBeLessThan(0.05);
  expect(Object.keys(j(hi.io_info)).sort()).toEqual(["Actual", "Total"]);
  expect(Object.keys(j(hi.net))).toEqual(expect.arrayContaining(["speed", "send", "receive", "Total"]));

  const disks = await db.query<{ disk_info: string; total_bytes: number }>("SELECT disk_info, total_bytes FROM tb_monitor_disk_info WHERE rshost = 'e2e-1'");
  expect(disks.length).toBeGreaterThan(0);
  const d = j(disks[0]!.disk_info);
  expect(Math.abs(d.total - Number(disks[0]!.total_bytes) / 1024 ** 3)).toBeLessThan(0.05);

  const procRows = await db.query<{ pid: number; mem: number; rss_bytes: number; md5_str: string }>("SELECT pid, mem, rss_bytes, md5_str FROM tb_monitor_process_io_info WHERE rshost = 'e2e-1'");
  expect(procRows.length).toBeGreaterThan(0);
  for (const p of procRows) expect(Math.abs(Number(p.mem) - Number(p.rss_bytes) / 1024 ** 3)).toBeLessThan(1e-6);
  const dict = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM tb_monitor_process_info WHERE md5_str = ?`, [procRows[0]!.md5_str]);
  expect(Number(dict[0]!.n)).toBe(1);
  const rest = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_process_rest_info WHERE rshost = 'e2e-1'");
  expect(Number(rest[0]!.n)).toBeGreaterThanOrEqual(3);

  // every stored report once
  const [hosts, seen] = await Promise.all([
    db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE rshost = 'e2e-1'"),
    db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_report_seen WHERE rshost = 'e2e-1'"),
  ]);
  expect(Number(hosts[0]!.n)).toBe(Number(seen[0]!.n));

  // /metrics over the real port
  const metrics = await (await fetch(url + "/metrics")).text();
  expect(metrics).toMatch(/pmon_reports_accepted_total\{outcome="stored"\} [1-9]/);

  // the read API with the operator secret the server created (mode 0600)
  const operatorFile = join(dir, "server", "operator.secret");
  expect(statSync(operatorFile).mode & 0o777).toBe(0o600);
  const status = await getHosts(url, readFileSync(operatorFile, "utf8"));
  expect((status.hosts as { host: string }[]).map((h) => h.host)).toContain("e2e-1");
  await expect(getHosts(url, "wrong")).rejects.toThrow("401");

  // SIGTERM: both exit 0, nothing left in the agent's spool
  agent.proc.kill("SIGTERM");
  expect(await agent.exited).toBe(0);
  expect(readdirSync(join(dir, "e2e-1", "spool"))).toEqual([]);
  server.proc.kill("SIGTERM");
  expect(await server.exited).toBe(0);
  expect(server.text()).toContain("stopped");
}, 120_000);

test("expected failures are one line: no secret, bad listen address, bad host name (2: configuration or usage), port taken (1)", async () => {
  const run = async (args: string[]) => {
    const p = spawnPmon(args, join(dir, `cli-${args[0]}-${Date.now()}.log`));
    const code = await p.exited;
    const errors = p.text().split("\n").filter((l) => l.includes("[error]"));
    return { code, errors, stack: /\n\s+at /.test(p.text()) };
  };
  const noSecret = await run(["agent", "--server", "http://127.0.0.1:9", "--data-dir", join(dir, "nosecret")]);
  expect(noSecret.code).toBe(2);
  expect(noSecret.errors.length).toBe(1);
  expect(noSecret.errors[0]).toContain("key file");
  expect(noSecret.stack).toBe(false);

  const badListen = await run(["server", "--listen", "nonsense", "--data-dir", join(dir, "badlisten")]);
  expect(badListen.code).toBe(2);
  expect(badListen.errors[0]).toContain("server.listen");

  const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const taken = await run(["server", "--listen", `127.0.0.1:${holder.port}`, "--data-dir", join(dir, "taken")]);
  holder.stop(true);
  expect(taken.code).toBe(1);
  expect(taken.errors[0]).toContain("cannot listen");
  expect(taken.stack).toBe(false);

  const badHost = await run(["enroll", "--no-deploy", "bad host!", "--secret-out", join(dir, "bad.secret"), "--data-dir", join(dir, "badhost")]);
  expect(badHost.code).toBe(2);
  expect(badHost.errors.length).toBe(1);
}, 60_000);
