// The whole fleet lifecycle against real sshd hosts in network namespaces (test/lab/lab.ts), a real
// pmon server (the compiled binary) in the lab's control namespace, and the test MariaDB reached
// through its unix socket. The tests run in order and share the lab:
//   enroll 3 → a 4th by SQL → failures in one command → remove → upgrade with one rollback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import type { Subprocess } from "bun";
import { signedHeaders } from "../../../src/protocol/api.ts";
import { readAgentKey } from "../../../src/keys/agent-key.ts";
import { loadReplyKey } from "../../../src/keys/reply-key.ts";
import { requireBinary, ROOT } from "../../helpers/binary.ts";
import { LAB_SERVER_PORT, labServerListening, spawnLabServer, stopLabServer, writeLabConfig } from "../../helpers/fleet/lab-server.ts";
import { testMariaDB, type TestMariaDB } from "../../helpers/mariadb.ts";
import { createLab, run, waitFor, type Lab, type LabHost } from "../../lab/lab.ts";

const INTERVAL_S = 2;
let lab: Lab;
let db: TestMariaDB;
let sql: mysql.Connection;
let dir: string;
let configFile: string;
let bin: string;
let server: Subprocess | undefined;

interface HostRow {
  rshost: string;
  istate: number;
  agent_version: string;
  last_report_at: number | null;
  deploy_error: string;
  secret_hash: string;
}

async function hostRow(h: LabHost | string): Promise<HostRow | undefined> {
  const [rows] = await sql.query("SELECT rshost, istate, agent_version, last_report_at, deploy_error, secret_hash FROM tb_monitor_host_config WHERE rshost = ?", [
    typeof h === "string" ? h : h.addr,
  ]);
  const r = (rows as HostRow[])[0];
  return r ? { ...r, last_report_at: r.last_report_at === null ? null : Number(r.last_report_at) } : undefined;
}

async function startServer(binary: string, name: string): Promise<void> {
  const log = join(dir, `${name}.log`);
  server = spawnLabServer(lab, binary, configFile, log);
  await labServerListening(lab, log);
}

async function stopServer(): Promise<void> {
  await stopLabServer(server);
  server = undefined;
}

/** A real report for `host` (one sample of this machine, as `pmon agent --once` makes it). */
async function makeReport(host: string): Promise<Uint8Array> {
  const once = await run([bin, "agent", "--once", "--json", "--host", host, "--sample-ms", "200"]);
  expect(once.code).toBe(0);
  return new TextEncoder().encode(once.stdout);
}

/** POSTs `body` for `host`, freshly signed with `secret`, from inside the lab; returns the HTTP status and body. */
async function postReport(host: string, secret: string, body: Uint8Array): Promise<{ status: number; body: string }> {
  const headers = { "content-type": "application/json", ...signedHeaders(secret, host, Date.now(), body) };
  const script = join(dir, "post.ts");
  writeFileSync(
    script,
    `const [url, headers, file] = process.argv.slice(2);
     const r = await fetch(url, { method: "POST", headers: JSON.parse(headers), body: await Bun.file(file).bytes() });
     console.log(JSON.stringify({ status: r.status, body: await r.text() }));`,
  );
  const bodyFile = join(dir, "report.json");
  writeFileSync(bodyFile, body);
  const r = await lab.ctl([join(ROOT, "node_modules/.bin/bun"), script, `http://${lab.ctlAddr}:${LAB_SERVER_PORT}/v1/report`, JSON.stringify(headers), bodyFile]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

beforeAll(async () => {
  bin = requireBinary();
  // h6 refuses our key, h7's known_hosts entry is another key, h8's /opt is a 16 MiB tmpfs
  [lab, db] = await Promise.all([createLab(8, { tinyOpt: [8], tinyOptMb: 16 }), testMariaDB("pmon_fleet")]);
  dir = join(lab.dir, "server");
  mkdirSync(dir, { recursive: true });
  sql = await mysql.createConnection(db.url);
  // h6 accepts no key at all: "authentication refused"
  writeFileSync(join(lab.hosts[5]!.dir, "root/.ssh/authorized_keys"), "");
  // h7: known_hosts holds a different key for its address, as after a reinstall or an attack
  const otherKey = readFileSync(join(lab.hosts[0]!.dir, "ssh_host_ed25519_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
  writeFileSync(lab.knownHosts, `${lab.hosts[6]!.addr} ${otherKey}\n`);
  configFile = writeLabConfig(lab, dir, "pmon.toml", {
    intervalS: INTERVAL_S,
    sampleMs: 500,
    managerIntervalS: 2,
    mariadb: db,
    deploy: 'install_dir = "/opt/pmon"\nrollout_max_failed_pct = 50',
    more: '[alerts]\nlanguage = "en"',
  });
  await startServer(bin, "server-v1");
}, 120_000);

afterAll(async () => {
  await stopServer();
  // PMON_TEST_LOG=1 shows what the servers logged (deploys, rollbacks, refusals) when debugging.
  if (process.env.PMON_TEST_LOG && dir) {
    for (const name of ["server-v1.log", "server-v2.log"]) if (existsSync(join(dir, name))) console.error(`--- ${name}\n${readFileSync(join(dir, name), "utf8")}`);
  }
  await sql?.end();
  await lab?.down();
}, 60_000);

function enroll(...hosts: string[]) {
  return lab.ctl([bin, "enroll", "--config", configFile, ...hosts], { timeoutMs: 180_000 });
}

describe("fleet lifecycle", () => {
  test("enroll 3 hosts in one command: all report, status shows them running, each agent sees only its own host", async () => {
    const [h1, h2, h3] = lab.hosts as [LabHost, LabHost, LabHost];
    const started = Date.now();
    const r = await enroll(h1.addr, h2.addr, h3.addr);
    expect(r.stderr).not.toContain("    at "); // no stack trace
    expect(r.code).toBe(0);
    for (const h of [h1, h2, h3]) {
      const row = (await hostRow(h))!;
      expect(row.istate).toBe(2);
      expect(row.last_report_at).toBeGreaterThan(started);
      expect(row.agent_version).toBe("0.1.0");
      expect(r.stdout).toMatch(new RegExp(`${h.addr.replaceAll(".", "\\.")}\\s+running`));
      // files: binary, 0600 config and secret; no database credentials in the agent's config
      const opt = join(h.dir, "opt/pmon");
      expect(existsSync(join(opt, "pmon"))).toBe(true);
      const { statSync } = await import("node:fs");
      expect(statSync(join(opt, "pmon.toml")).mode & 0o777).toBe(0o600);
      expect(statSync(join(opt, "agent.secret")).mode & 0o777).toBe(0o600);
      const agentConfig = readFileSync(join(opt, "pmon.toml"), "utf8");
      expect(agentConfig).not.toContain("pmonpw");
      expect(agentConfig).not.toContain("[server]");
      expect(agentConfig).toContain(`host = "${h.addr}"`);
      // the host made its own key: the store has its public half, the agent pins the servers' reply key
      expect(row.secret_hash).toBe(readAgentKey(join(opt, "agent.secret")).publicKey);
      expect(agentConfig).toContain(`server_keys = [ "${loadReplyKey(join(dir, "reply.key"), { create: false }).publicKey}" ]`);
    }
    // status (from the store) lists the three as running
    const st = await run([bin, "status", "--json", "--config", configFile, "--source", "store"]);
    const statuses = JSON.parse(st.stdout) as { host: string; state: string }[] | { hosts: { host: string; state: string }[] };
    const list = Array.isArray(statuses) ? statuses : statuses.hosts;
    for (const h of [h1, h2, h3]) expect(list.find((s) => s.host === h.addr)?.state).toBe("running");

    // each agent sees only its host's processes: the stored pids of h1 all exist in h1's PID namespace
    const procs = await lab.processes(h1);
    const agent = procs.find((p) => p.cmdline.includes("pmon agent"));
    expect(agent).toBeDefined();
    const [rest] = await sql.query("SELECT `count` AS n FROM tb_monitor_process_rest_info WHERE rshost = ? ORDER BY id DESC LIMIT 1", [h1.addr]);
    const [kept] = await sql.query(
      "SELECT pid FROM tb_monitor_process_io_info WHERE rshost = ? AND a_time = (SELECT MAX(a_time) FROM tb_monitor_process_io_info WHERE rshost = ?)",
      [h1.addr, h1.addr],
    );
    const keptPids = (kept as { pid: number }[]).map((k) => k.pid);
    const total = keptPids.length + Number((rest as { n: number }[])[0]?.n ?? 0);
    // the machine runs hundreds of processes; the host a handful (sshd, supervisor, agent, ...)
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThan(40);
    const hostPids = new Set(procs.map((p) => p.pid));
    for (const pid of keptPids) expect(hostPids.has(pid)).toBe(true);
  }, 240_000);

  test("re-enrolling a reporting host whose key file is gone is refused and changes nothing; with the key back it enrolls; --rekey replaces the key", async () => {
    const h1 = lab.hosts[0]!;
    const keyA = (await hostRow(h1))!.secret_hash;
    expect((await lab.ssh(h1, "mv /opt/pmon/agent.secret /opt/pmon/agent.secret.away")).code).toBe(0);
    const refused = await enroll(h1.addr);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`pmon enroll --rekey ${h1.addr}`);
    expect(refused.stderr).not.toContain("    at ");
    const row = (await hostRow(h1))!;
    expect([row.istate, row.secret_hash]).toEqual([2, keyA]);
    // the running agent still holds its key in memory and keeps reporting
    const seen = row.last_report_at!;
    await waitFor("h1 to report again", async () => ((await hostRow(h1))!.last_report_at! > seen ? true : undefined), 30_000, 500);

    expect((await lab.ssh(h1, "mv /opt/pmon/agent.secret.away /opt/pmon/agent.secret")).code).toBe(0);
    expect((await enroll(h1.addr)).code).toBe(0);
    expect((await hostRow(h1))!.secret_hash).toBe(keyA);

    const rekeyed = await lab.ctl([bin, "enroll", "--rekey", "--config", configFile, h1.addr], { timeoutMs: 180_000 });
    expect(rekeyed.code).toBe(0);
    const after = (await hostRow(h1))!;
    expect(after.secret_hash).not.toBe(keyA);
    expect(after.secret_hash).toBe(readAgentKey(join(h1.dir, "opt/pmon/agent.secret")).publicKey);
    expect(after.istate).toBe(2);
  }, 240_000);

  test("a host inserted by SQL with istate = 1 is deployed by the server's manager loop", async () => {
    const h4 = lab.hosts[3]!;
    await sql.query("INSERT INTO tb_monitor_host_config (rshost, istate) VALUES (?, 1)", [h4.addr]);
    const row = await waitFor("h4 to be deployed by the manager", async () => {
      const r = await hostRow(h4);
      return r && r.istate === 2 && r.last_report_at !== null ? r : undefined;
    }, 120_000, 500);
    expect(row.secret_hash).toMatch(/^ed25519:/);
    expect(row.agent_version).toBe("0.1.0");
    expect((await lab.processes(h4)).some((p) => p.cmdline.includes("pmon agent"))).toBe(true);
  }, 180_000);

  test("unreachable, key refused, host key changed and no space fail with one-line errors and exit 1; the good host in the same command is enrolled", async () => {
    const [h5, h6, h7, h8] = lab.hosts.slice(4) as [LabHost, LabHost, LabHost, LabHost];
    const noSshd = lab.ctlAddr; // the control namespace itself runs no sshd
    const r = await enroll(noSshd, h6.addr, h7.addr, h8.addr, h5.addr);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain("    at ");
    const errorOf = (host: string) => {
      // progress lines read "[i/n] HOST  step"; only a failure reads "HOST: cause"
      const lines = r.stderr.split("\n").filter((l) => l.includes(`${host}: `));
      expect({ host, lines: lines.length, stderr: lines.length === 1 ? "" : r.stderr }).toEqual({ host, lines: 1, stderr: "" });
      return lines[0]!;
    };
    expect(errorOf(noSshd)).toMatch(/unreachable: connection refused/);
    expect(errorOf(h6.addr)).toMatch(/ssh authentication refused/);
    expect(errorOf(h7.addr)).toMatch(/host key changed/);
    expect(errorOf(h8.addr)).toMatch(/no space: \/opt\/pmon has \d+ MiB free, pmon needs \d+ MiB/);
    expect(r.stdout).toMatch(new RegExp(`${h5.addr.replaceAll(".", "\\.")}\\s+running`));
    expect(r.stdout).toMatch(new RegExp(`${h6.addr.replaceAll(".", "\\.")}\\s+failed\\s+ssh authentication refused`));
    expect((await hostRow(h5))!.istate).toBe(2);
    // the failed ones stay pending with the reason (shown by pmon status), to be retried
    const bad = (await hostRow(h6))!;
    expect(bad.istate).toBe(1);
    expect(bad.deploy_error).toContain("authentication refused");
    // nothing was copied to the host that has no room
    expect((await lab.ssh(h8, "ls -A /opt")).stdout.trim()).toBe("");
  }, 180_000);

  test("remove: the agent and its files are gone, istate -1, and its reports are refused", async () => {
    const h2 = lab.hosts[1]!;
    const secret = readAgentKey(join(h2.dir, "opt/pmon/agent.secret")).privateKeyPem;
    expect((await lab.processes(h2)).filter((p) => /pmon (agent|supervise)/.test(p.cmdline)).length).toBe(2);
    const report = await makeReport(h2.addr);
    const before = await postReport(h2.addr, secret, report);
    expect(before.status).toBe(200);

    const r = await lab.ctl([bin, "remove", "--config", configFile, h2.addr]);
    expect(r.stderr).not.toContain("    at ");
    expect(r.code).toBe(0);
    const procs = await lab.processes(h2);
    expect(procs.filter((p) => /pmon (agent|supervise)/.test(p.cmdline))).toEqual([]);
    expect(existsSync(join(h2.dir, "opt/pmon"))).toBe(false);
    const row = (await hostRow(h2))!;
    expect(row.istate).toBe(-1);
    expect(row.secret_hash).toBe("");
    // The server caches a host's auth row for a few seconds (server engineer's hostCacheMs, 5 s).
    const after = await waitFor("the server to refuse h2's reports", async () => {
      const a = await postReport(h2.addr, secret, report);
      return a.status === 200 ? undefined : a;
    }, 30_000, 500);
    expect(after.status).toBe(403);
    expect(after.body).toMatch(/removed_host|no_key/);
  }, 60_000);

  test("a server of a new version redeploys every running host; a host where the new agent cannot start is rolled back and keeps reporting", async () => {
    // a newer release than the binary under test: only a newer version starts a rollout
    const [major, minor, patch] = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version.split(/[.-]/).map(Number) as [number, number, number];
    const NEXT = `${major}.${minor}.${patch + 1}`;
    const next = join(dir, "pmon-next");
    const build = await run(["make", "-s", "-C", ROOT, "build", `OUT=${next}`, `VERSION=${NEXT}`], { timeoutMs: 300_000 });
    expect(build.code).toBe(0);
    const running = [lab.hosts[0]!, lab.hosts[2]!, lab.hosts[3]!, lab.hosts[4]!];
    const broken = lab.hosts[2]!; // h3
    // The new version cannot start on h3 (the supervisor treats the refused version as a crash).
    writeFileSync(join(broken.dir, "opt/pmon/agent.env"), `PMON_SUPERVISE_REFUSE_VERSION=${NEXT}\n`);

    await stopServer();
    await startServer(next, "server-v2");
    const good = running.filter((h) => h !== broken);
    for (const h of good) {
      await waitFor(`${h.name} to report version ${NEXT}`, async () => {
        const r = await hostRow(h);
        return r?.istate === 2 && r.agent_version === NEXT;
      }, 150_000, 500);
    }
    const rolled = await waitFor("h3 to be rolled back", async () => {
      const r = await hostRow(broken);
      return r?.istate === 2 && r.deploy_error.startsWith("rolled back") ? r : undefined;
    }, 150_000, 500);
    expect(rolled.deploy_error).toContain(`${NEXT} did not report`);
    // the old binary is back in place and the host still reports, on the old version
    const version = await lab.ssh(broken, "/opt/pmon/pmon --version");
    expect(version.stdout.trim()).toStartWith("0.1.0 ");
    const seen = rolled.last_report_at ?? 0;
    const again = await waitFor("h3 to report again after the rollback", async () => {
      const r = await hostRow(broken);
      return r && (r.last_report_at ?? 0) > seen ? r : undefined;
    }, 60_000, 500);
    expect(again.agent_version).toBe("0.1.0");
    // the good hosts run the new binary, and kept the old one for a rollback
    for (const h of good) {
      expect((await lab.ssh(h, "/opt/pmon/pmon --version")).stdout.trim()).toStartWith(`${NEXT} `);
      expect((await lab.ssh(h, "/opt/pmon/pmon.prev --version")).stdout.trim()).toStartWith("0.1.0 ");
    }
    const [versions] = await sql.query("SELECT version FROM tb_monitor_version ORDER BY id DESC LIMIT 1");
    expect((versions as { version: string }[])[0]!.version).toBe(NEXT);
  }, 400_000);

  test("a host set to istate = 0 by SQL is removed by the server's manager loop", async () => {
    const h4 = lab.hosts[3]!;
    await sql.query("UPDATE tb_monitor_host_config SET istate = 0 WHERE rshost = ?", [h4.addr]);
    const row = await waitFor("h4 to be removed by the manager", async () => {
      const r = await hostRow(h4);
      return r?.istate === -1 ? r : undefined;
    }, 120_000, 500);
    expect(row.secret_hash).toBe("");
    expect(existsSync(join(h4.dir, "opt/pmon"))).toBe(false);
    expect((await lab.processes(h4)).filter((p) => /pmon (agent|supervise)/.test(p.cmdline))).toEqual([]);
  }, 150_000);
});
