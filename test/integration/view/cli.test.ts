// `pmon status` and `pmon top` as the compiled binary runs them: golden output, JSON, exit codes,
// one-line errors. The store is a SQLite file holding the known fleet of fleet.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../../../src/store/db.ts";
import { registerHost, recordReportSeen } from "../../../src/store/hosts.ts";
import { writeReports } from "../../../src/store/reports.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { heartbeat } from "../../../src/store/servers.ts";
import { requireBinary } from "../../helpers/binary.ts";
import { fleetReport, writeFleet } from "../../helpers/view/fleet.ts";
import { expectGolden } from "../../helpers/view/golden.ts";

const tmp = mkdtempSync(join(tmpdir(), "pmon-views-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A config whose default SQLite store (data_dir/pmon.db) holds what `fill` writes. */
async function store(name: string, fill: (db: ReturnType<typeof openDb>) => Promise<void>): Promise<string> {
  const dataDir = join(tmp, name);
  mkdirSync(dataDir, { recursive: true });
  const db = openDb(`sqlite:${join(dataDir, "pmon.db")}`);
  await migrate(db);
  // a server running against the store: its heartbeat is fresh (status exits 3 without one)
  await heartbeat(db, { serverId: "test", address: "127.0.0.1:9", version: "0.1.0", startedAt: Date.now() });
  await fill(db);
  await db.close();
  const config = join(tmp, `${name}.toml`);
  // server.url points at a closed port: `--from auto` must not need the API when the file exists
  writeFileSync(config, `[server]\ndata_dir = ${JSON.stringify(dataDir)}\nurl = "http://127.0.0.1:9"\n`);
  return config;
}

function pmon(config: string, ...args: string[]) {
  const r = spawnSync(requireBinary(), [...args, "--config", config], { encoding: "utf8", timeout: 60_000, env: { ...process.env, TZ: "UTC", NO_COLOR: "1", PMON_LOG_LEVEL: "info" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let fleet: string;
let empty: string;
let healthy: string;

beforeAll(async () => {
  fleet = await store("fleet", writeFleet);
  empty = await store("empty", async () => {});
  healthy = await store("healthy", async (db) => {
    const now = Date.now();
    await registerHost(db, "ok1", { secretHash: "0".repeat(64), istate: 2 });
    const report = fleetReport("ok1", now - 1000, 1, [{ pid: 5, comm: "nginx", cpu_pct: 12 }], { cpu_pct: 3 });
    await writeReports(db, [{ report, receivedAt: now - 900 }]);
    await recordReportSeen(db, "ok1", { receivedAt: now - 900, agentTime: now - 1000, agentVersion: "0.1.0" });
  });
}, 60_000);

describe("pmon status", () => {
  test("exits 1 when a host is silent or failed, and says which", () => {
    const r = pmon(fleet, "status");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^HOST\s+STATE\s+VERSION/);
    expect(r.stdout).toContain("bad1: deploy failed: ssh: connect to host bad1 port 22: Connection refused");
    expect(r.stdout).not.toContain("\x1b[");
    const json = JSON.parse(pmon(fleet, "status", "--json").stdout);
    // the fixture's reports are from 2026-11-24: by now every running host is silent
    expect(json.hosts.map((h: { host: string; state: string }) => `${h.host}=${h.state}`)).toEqual(["bad1=failed", "db1=silent", "db2=silent", "web1=pending"]);
    // removed hosts only with --all
    const all = JSON.parse(pmon(fleet, "status", "--json", "--all").stdout);
    expect(all.hosts.map((h: { host: string; state: string }) => `${h.host}=${h.state}`)).toContain("old1=removed");
    expect(pmon(fleet, "status").stdout).not.toContain("old1");
  });

  test("exits 0 when every host is fine", () => {
    const r = pmon(healthy, "status", "--source", "store");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\nok1\s+running\s+0\.1\.0\s+\d+s\s+45\.0%/);
    expect(r.stdout).toContain("nginx pid 5 12.0%");
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("1 host: 1 running");
  });

  test("an empty fleet", () => {
    const r = pmon(empty, "status");
    expect(r.code).toBe(0);
    expectGolden("status-empty.txt", r.stdout);
    expect(JSON.parse(pmon(empty, "status", "--json").stdout)).toMatchObject({ hosts: [], server: { up: true } });
  });

  test("colour only when asked (or on a terminal)", () => {
    const r = pmon(healthy, "status", "--color");
    expect(r.stdout).toContain("\x1b[32mrunning");
  });

  test("--source api without the operator secret is one clear line, exit 2 (configuration)", () => {
    const r = pmon(fleet, "status", "--source", "api");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/operator secret/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test("auto falls back to the API when there is no local store", () => {
    const config = join(tmp, "nostore.toml");
    writeFileSync(config, `[server]\ndata_dir = ${JSON.stringify(join(tmp, "nowhere"))}\nurl = "http://127.0.0.1:9"\noperator_secret_file = ${JSON.stringify(join(tmp, "nowhere.secret"))}\n`);
    const r = pmon(config, "status");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("nowhere.secret");
  });
});

describe("pmon top", () => {
  test("--at across the fleet matches the golden file", () => {
    const r = pmon(fleet, "top", "--at", "2026-11-24 02:50:30");
    expect(r.code).toBe(0);
    expectGolden("top-fleet-cpu-at.txt", r.stdout);
  });

  test("--at for one host by memory, and a range", () => {
    expectGolden("top-db1-mem-at.txt", pmon(fleet, "top", "--host", "db1", "--by", "mem", "--limit", "2", "--at", "2026-11-24T03:00:00Z").stdout);
    expectGolden("top-db1-cpu-range.txt", pmon(fleet, "top", "--host", "db1", "--from", "2026-11-24 02:50", "--to", "1795489200").stdout);
  });

  test("--json carries the rows with shares", () => {
    const r = JSON.parse(pmon(fleet, "top", "--at", "2026-11-24 02:50:30", "--json", "--limit", "1").stdout);
    expect(r.mode).toBe("at");
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0]).toMatchObject({ host: "db2", pid: 3001, instance: "8080", comm: "java", value: 300, share: 0.75 });
  });

  test("an empty store: nothing found is exit 1", () => {
    const r = pmon(empty, "top", "--at", "2026-11-24 03:00");
    expect(r.code).toBe(1);
    expectGolden("top-empty.txt", r.stdout);
  });

  for (const [args, message] of [
    [["--at", "yesterday-ish"], /--at: cannot understand the time "yesterday-ish"/],
    [["--by", "disk"], /--by must be one of cpu, mem, io, net/],
    [["--limit", "0"], /--limit must be/],
    [["--at", "now", "--from", "1h ago"], /either --at or --from/],
    [["--from", "now", "--to", "1h ago"], /--from must be before --to/],
    [["--host", "a b"], /not a valid host/],
  ] as [string[], RegExp][]) {
    test(`bad input ${args.join(" ")} is one line, exit 2`, () => {
      const r = pmon(fleet, "top", ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });
  }
});
