// The old tool's history after the in-place migration: `pmon status` shows its hosts as waiting for
// their pmon agent (not silent, not a failure), `pmon top --at` reads its process rows (the pid it
// kept in rsport, memory as the whole GB it stored, what it never measured as "-"), and once a host is
// enrolled, old and new rows answer together. In-process on MariaDB, then through the compiled binary.
import { heartbeat } from "../../../src/store/servers.ts";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createLogger } from "../../../src/log.ts";
import type { Db } from "../../../src/store/db.ts";
import { topAt, topRange } from "../../../src/store/history.ts";
import { registerHost } from "../../../src/store/hosts.ts";
import { openStore } from "../../../src/store/open.ts";
import { writeReports } from "../../../src/store/reports.ts";
import { isProblem } from "../../../src/protocol/api.ts";
import { hostStatuses } from "../../../src/store/status.ts";
import { renderStatus } from "../../../src/view/status.ts";
import { renderTop } from "../../../src/view/top.ts";
import { requireBinary } from "../../helpers/binary.ts";
import { createLegacyDatabase, OLD_CMD, OLD_HOST, OLD_PID, type LegacyRows } from "../../helpers/store/legacy-db.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { makeReport } from "../../helpers/reports.ts";

setDefaultTimeout(60_000);

const GiB = 1024 ** 3;
const DAY = 86_400_000;
let db: Db;
let url: string;
let old: LegacyRows;
const oldEnd = Date.now() - DAY;

beforeAll(async () => {
  url = (await testMariaDB("pmon_legacy_views")).url;
  old = await createLegacyDatabase(url, oldEnd);
  db = await openStore({ storage: url, data_dir: "/nonexistent" }, createLogger("silent"));
});
afterAll(() => db?.close());

function pmon(args: string[]) {
  const r = Bun.spawnSync([requireBinary(), ...args], { env: { ...process.env, PMON_SERVER_STORAGE: url, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("before any host is enrolled", () => {
  test("status: the old hosts wait for their pmon agent; the old figures fill the columns", async () => {
    const hosts = await hostStatuses(db, Date.now());
    expect(hosts.map((h) => [h.host, h.state, h.istate])).toEqual([
      ["10.0.0.5", "waiting", 2],
      ["10.0.0.6", "waiting", 1],
      ["10.0.0.7", "waiting", 0],
      ["10.0.0.8", "removed", -1],
    ]);
    expect(hosts.some(isProblem)).toBe(false);
    const h = hosts[0]!;
    expect(h.cpu_pct).toBe(28); // 100 - idle 72
    expect(h.mem_used_pct).toBeCloseTo((40 / 62) * 100, 6);
    expect(h.fs_max_pct).toBeCloseTo((1500 / 1800) * 100, 6);
    expect(h.fs_max_mount).toBe("/dev/sdb1");
    expect(h.net_rx_bytes_per_s).toBeNull(); // the old client stored only the link speed
    expect(h.top_process).toEqual({ pid: OLD_PID, comm: "mysqld", instance: "", cpu_pct: 250 });
    expect(h.last_report_at).toBe(old.times.at(-1)!);
    const text = renderStatus(hosts, { colour: false });
    expect(text).toContain("10.0.0.5: the old tool's host, waiting for its pmon agent (pmon enroll 10.0.0.5, or server.adopt_legacy_hosts)");
    expect(text).toMatch(/4 hosts: 3 waiting, 1 removed\n$/);
  });

  test("top --at over old rows: pid from rsport, whole-GB memory, no share and no network", async () => {
    const cpu = await topAt(db, { by: "cpu", limit: 10, host: OLD_HOST, at: oldEnd });
    expect(cpu.rows.map((r) => [r.pid, r.value, r.share, r.start_time, r.comm, r.cmdline])).toEqual([
      [OLD_PID, 250, null, null, "mysqld", OLD_CMD],
      [777, 30, null, null, "java", "/usr/bin/java -jar /opt/app/app.jar"],
    ]);
    const mem = await topAt(db, { by: "mem", limit: 10, host: OLD_HOST, at: oldEnd });
    expect(mem.rows.map((r) => [r.pid, r.value])).toEqual([
      [777, 12 * GiB],
      [OLD_PID, 6 * GiB],
    ]);
    const text = renderTop(mem, { colour: false });
    expect(text).toMatch(/10\.0\.0\.5\s+777\s+-\s+12\.0 GiB\s+-\s+/);
    const net = await topAt(db, { by: "net", limit: 10, host: OLD_HOST, at: oldEnd });
    expect(net.rows.map((r) => r.value)).toEqual([null, null]);
    expect(renderTop(net, { colour: false })).toMatch(/10\.0\.0\.5\s+4242\s+-\s+-\s+-\s+/);
  });

  test("through the compiled binary: status exits 0 with the waiting hosts, top --at '1 day ago' prints the old processes", async () => {
    // a pmon server runs against the migrated database (without one, status says so and exits 3)
    await heartbeat(db, { serverId: "s", address: "127.0.0.1:9300", version: "0.1.0", startedAt: Date.now() });
    const s = pmon(["status", "--source", "store"]);
    expect(s.stderr).toBe("");
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^10\.0\.0\.5\s+waiting\s+-\s+24h\s+28\.0%\s+8\.00\s+64\.5%\s+83% \/dev\/sdb1\s+-\s+-\s+mysqld pid 4242 250\.0%$/m);
    expect(s.stdout).toContain("10.0.0.6: the old tool's host, waiting for its pmon agent");
    const t = pmon(["top", "--host", OLD_HOST, "--at", "1 day ago", "--by", "mem"]);
    expect(t.stderr).toBe("");
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^10\.0\.0\.5\s+777\s+-\s+12\.0 GiB\s+-\s+\S+ \S+\s+\/usr\/bin\/java -jar \/opt\/app\/app\.jar$/m);
    expect(t.stdout).toMatch(/^10\.0\.0\.5\s+4242\s+-\s+6\.0 GiB\s+-\s+/m);
  });
});

describe("after the old host is enrolled and its pmon agent reports", () => {
  beforeAll(async () => {
    await registerHost(db, OLD_HOST, { secretHash: "0".repeat(64), istate: 2 });
    const report = makeReport({ host: OLD_HOST, time: Date.now() - 60_000 });
    await writeReports(db, [{ report, receivedAt: report.time }]);
  });

  test("status: the host runs on pmon's rows; the other old hosts still wait", async () => {
    const hosts = await hostStatuses(db, Date.now());
    expect(hosts.map((h) => [h.host, h.state])).toEqual([
      ["10.0.0.5", "running"],
      ["10.0.0.6", "waiting"],
      ["10.0.0.7", "waiting"],
      ["10.0.0.8", "removed"],
    ]);
  });

  test("top over a range holds the old and the new process rows together", async () => {
    const r = await topRange(db, { by: "cpu", limit: 10, host: OLD_HOST, from: oldEnd - 3_600_000, to: Date.now() });
    const mysqld = r.rows.filter((x) => x.pid === OLD_PID);
    // one identity without a start time (the old tool's), one with (pmon's)
    expect(mysqld.map((x) => x.start_time === null).sort()).toEqual([false, true]);
    expect(r.hosts).toBe(1);
    expect(r.rows.find((x) => x.pid === 777)).toBeDefined();
  });
});
