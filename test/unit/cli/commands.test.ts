// The main subcommands in-process through runCommand, the function the binary runs: output, exit codes
// and one-line errors. The store is a SQLite file per test; enroll/remove use --no-deploy hosts, which
// never need ssh.
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAgentKey } from "../../../src/keys/agent-key.ts";
import { decodeReport } from "../../../src/protocol/report.ts";
import { openDb, type Db } from "../../../src/store/db.ts";
import { getHost, ISTATE, recordReportSeen, registerHost, setHostState } from "../../../src/store/hosts.ts";
import { writeReports } from "../../../src/store/reports.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { heartbeat } from "../../../src/store/servers.ts";
import { VERSION } from "../../../src/version.ts";
import { pmonInProcess } from "../../helpers/cli.ts";
import { makeProcess, makeReport } from "../../helpers/reports.ts";

const FIXTURES = join(import.meta.dir, "../../fixtures");
const tmp = mkdtempSync(join(tmpdir(), "pmon-cli-unit-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
let dataDir = "";
let config = "";

/** A fresh data_dir with a migrated SQLite store with a running server's heartbeat, and a config file pointing at it. */
beforeEach(async () => {
  dataDir = join(tmp, `case${++n}`);
  mkdirSync(dataDir, { recursive: true });
  const db = openDb(`sqlite:${join(dataDir, "pmon.db")}`);
  await migrate(db);
  await heartbeat(db, { serverId: "test", address: "127.0.0.1:9", version: VERSION, startedAt: Date.now() });
  await db.close();
  config = join(dataDir, "pmon.toml");
  // server.url is a closed port: nothing may need the API when the store file exists
  writeFileSync(config, `[server]\ndata_dir = ${JSON.stringify(dataDir)}\nurl = "http://127.0.0.1:9"\n`);
});

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const db = openDb(`sqlite:${join(dataDir, "pmon.db")}`);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const pmon = (...argv: string[]) => pmonInProcess([...argv, "--config", config]);

describe("pmon (no subcommand work)", () => {
  test("--version prints the version and exits 0", async () => {
    const r = await pmonInProcess(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(`${VERSION} (`);
  });

  test("--help of a subcommand shows its usage and examples", async () => {
    const r = await pmonInProcess(["status", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("pmon status");
    expect(r.stdout).toContain("EXAMPLES");
  });

  test("an unknown subcommand exits 2 naming it and where the usage is", async () => {
    const r = await pmonInProcess(["bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "bogus"');
    expect(r.stderr).toContain("pmon --help");
  });
});

describe("pmon status", () => {
  test("a healthy fleet: a table on stdout, exit 0", async () => {
    const now = Date.now();
    await withDb(async (db) => {
      await registerHost(db, "ok1", { secretHash: "0".repeat(64), istate: ISTATE.running });
      await writeReports(db, [{ report: makeReport({ host: "ok1", time: now - 1000 }), receivedAt: now - 900 }]);
      await recordReportSeen(db, "ok1", { receivedAt: now - 900, agentTime: now - 1000, agentVersion: "0.1.0" });
    });
    const r = await pmon("status");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^HOST\s+STATE\s+VERSION/);
    expect(r.stdout).toMatch(/ok1\s+running\s+0\.1\.0/);
  });

  test("a failed host makes it exit 1; --json holds the typed rows", async () => {
    await withDb(async (db) => {
      await registerHost(db, "bad1", { secretHash: "0".repeat(64), istate: ISTATE.toDeploy });
      await setHostState(db, "bad1", ISTATE.toDeploy, { deploy_error: "ssh: connection refused" });
    });
    const r = await pmon("status", "--json");
    expect(r.code).toBe(1);
    const hosts = (JSON.parse(r.stdout) as { hosts: { host: string; state: string; deploy_error: string }[] }).hosts;
    expect(hosts.map((h) => [h.host, h.state, h.deploy_error])).toEqual([["bad1", "failed", "ssh: connection refused"]]);
  });

  test("--source api against a closed port: one line on stderr, exit 3 (server down), nothing on stdout", async () => {
    writeFileSync(join(dataDir, "operator.secret"), "s3cret\n");
    const r = await pmon("status", "--source", "api");
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("cannot reach the pmon server at http://127.0.0.1:9: connection refused");
  });
});

describe("pmon top", () => {
  test("the process that used the most CPU comes first; --json gives the rows", async () => {
    const now = Date.now();
    await withDb(async (db) => {
      await registerHost(db, "h1", { secretHash: "0".repeat(64), istate: ISTATE.running });
      const processes = [makeProcess({ pid: 10, comm: "idle", cmdline: "idle --wait", cpu_pct: 1 }), makeProcess({ pid: 20, comm: "burner", cmdline: "burner --hot", cpu_pct: 95 })];
      await writeReports(db, [{ report: makeReport({ host: "h1", time: now - 5000, processes }), receivedAt: now - 5000 }]);
    });
    const text = await pmon("top", "--by", "cpu");
    expect(text.code).toBe(0);
    const rows = text.stdout.split("\n").filter((l) => l.startsWith("h1 "));
    expect(rows.map((l) => l.split(/\s+/)[1])).toEqual(["20", "10"]);
    const json = await pmon("top", "--by", "cpu", "--json", "--limit", "1");
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as { rows: { host: string; pid: number; comm: string }[] };
    expect(result.rows.map((row) => [row.host, row.pid, row.comm])).toEqual([["h1", 20, "burner"]]);
  });

  test("a bad --by is a one-line usage error with exit 2", async () => {
    const r = await pmon("top", "--by", "disk");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--by must be one of cpu, mem, io, net, got "disk"');
    expect(r.stderr).not.toContain("    at ");
  });
});

describe("pmon enroll --no-deploy and pmon remove", () => {
  test("enroll registers the host as running and writes a 0600 key file whose public key is stored", async () => {
    const secretFile = join(dataDir, "secrets", "db7.secret");
    const r = await pmon("enroll", "--no-deploy", "db7", "--secret-out", secretFile);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("registered db7");
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const key = readAgentKey(secretFile);
    const host = await withDb((db) => getHost(db, "db7"));
    expect(host?.istate).toBe(ISTATE.running);
    expect(host?.secret_hash).toBe(key.publicKey);
    // the file also pins this server's reply key
    expect(key.serverKeys).toHaveLength(1);
    expect(host?.deployed_by_pmon).toBeFalsy();
  });

  test("enroll refuses a bad host name and a missing --secret-out (exit 2), and stores nothing", async () => {
    const bad = await pmon("enroll", "--no-deploy", "bad host;", "--secret-out", join(dataDir, "x"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("not a valid host name or address");
    const noOut = await pmon("enroll", "--no-deploy", "db8");
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain("needs --secret-out");
    expect(await withDb((db) => db.query("SELECT rshost FROM tb_monitor_host_config"))).toEqual([]);
  });

  test("remove of a host another tool installed revokes its secret without ssh", async () => {
    expect((await pmon("enroll", "--no-deploy", "db9", "--secret-out", join(dataDir, "db9.secret"))).code).toBe(0);
    const r = await pmon("remove", "db9");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/db9\s+removed\s+secret revoked/);
    const host = await withDb((db) => getHost(db, "db9"));
    expect(host?.istate).toBe(ISTATE.removed);
    expect(host?.secret_hash).toBe("");
  });

  test("remove of a host that is not enrolled: exit 2 (usage), one line, nothing changed", async () => {
    const r = await pmon("remove", "nothere");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("pmon remove: nothere is not enrolled");
    expect(r.stdout).toBe("");
  });
});

describe("pmon agent --once", () => {
  const fixtureArgs = ["--once", "--proc-root", join(FIXTURES, "proc"), "--proc-root-next", join(FIXTURES, "proc-next"), "--sys-root", join(FIXTURES, "sys"), "--top-n", "2"];

  test("--json prints one valid report of the fixture tree, its top processes as in the golden file", async () => {
    const empty = join(dataDir, "empty.toml");
    writeFileSync(empty, "");
    const r = await pmonInProcess(["agent", "--config", empty, "--json", ...fixtureArgs], { PMON_LOG_LEVEL: "warn" });
    expect(r.code).toBe(0);
    const report = decodeReport(JSON.parse(r.stdout));
    const golden = JSON.parse(readFileSync(join(FIXTURES, "golden/agent-once.json"), "utf8")) as { host: string; processes: { pid: number; comm: string }[] };
    expect(report.host).toBe(golden.host);
    expect(report.processes.map((p) => [p.pid, p.comm])).toEqual(golden.processes.map((p) => [p.pid, p.comm]));
  });

  test("a proc root that does not exist is a one-line error, not a stack trace", async () => {
    const empty = join(dataDir, "empty.toml");
    writeFileSync(empty, "");
    const r = await pmonInProcess(["agent", "--config", empty, "--once", "--proc-root", join(tmp, "no-such-proc")]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toContain("    at ");
  });
});
