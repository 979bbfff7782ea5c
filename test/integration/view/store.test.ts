// hostStatuses and the time-travel queries against a known fleet, on SQLite and on MariaDB: the
// same rows must come out of both, and the rendered text must match the golden files.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, type Db } from "../../../src/store/db.ts";
import { topAt, topRange } from "../../../src/store/history.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { HOST_STATES, isProblem } from "../../../src/protocol/api.ts";
import { hostStateCounts, hostStatuses } from "../../../src/store/status.ts";
import { renderStatus } from "../../../src/view/status.ts";
import { sampleSpan } from "../../../src/store/sample-span.ts";
import { renderTop } from "../../../src/view/top.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { NOW, writeFleet } from "../../helpers/view/fleet.ts";
import { expectGolden } from "../../helpers/view/golden.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const tmp = mkdtempSync(join(tmpdir(), "pmon-views-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const backends: [string, () => Promise<string>][] = [
  ["sqlite", async () => `sqlite:${join(tmp, `fleet-${Math.random().toString(36).slice(2)}.db`)}`],
  ["mariadb", async () => (await testMariaDB("pmon_views")).url],
];

describe.each(backends)("%s", (_name, makeUrl) => {
  let db: Db;
  let empty: Db;
  beforeAll(async () => {
    db = openDb(await makeUrl());
    await migrate(db);
    await writeFleet(db);
    empty = openDb(await makeUrl());
    await migrate(empty);
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await empty?.close();
  });

  test("the /metrics host counts classify every host as hostStatuses does", async () => {
    const tally: Record<string, number> = {};
    for (const h of await hostStatuses(db, NOW, { silentAfterMs: 120_000 })) tally[h.state] = (tally[h.state] ?? 0) + 1;
    const counts = await hostStateCounts(db, NOW, 120_000);
    expect(Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0))).toEqual(tally);
    expect(Object.keys(counts).sort()).toEqual([...HOST_STATES].sort());
  });

  test("every host gets its state, figures and top process", async () => {
    const hosts = await hostStatuses(db, NOW, { silentAfterMs: 120_000 });
    expect(hosts.map((h) => [h.host, h.state])).toEqual([
      ["bad1", "failed"],
      ["db1", "running"],
      ["db2", "silent"],
      ["old1", "removed"],
      ["web1", "pending"],
    ]);
    const db1 = hosts.find((h) => h.host === "db1")!;
    expect(db1.age_ms).toBe(9_800); // last report received at NOW-10s+200ms
    expect(db1.agent_version).toBe("0.1.0");
    expect(db1.cpu_pct).toBeCloseTo(45, 5);
    expect(db1.load1).toBe(2.5);
    expect(db1.mem_used_pct).toBeCloseTo(75, 5);
    expect(db1.fs_max_pct).toBeCloseTo(93, 5);
    expect(db1.fs_max_mount).toBe("/data");
    expect(db1.net_rx_bytes_per_s).toBe(12 * MiB); // lo is not the network
    expect(db1.net_tx_bytes_per_s).toBe(3 * MiB);
    expect(db1.top_process).toEqual({ pid: 1001, comm: "mysqld", instance: "3306", cpu_pct: 250 });
    const db2 = hosts.find((h) => h.host === "db2")!;
    expect(db2.age_ms).toBe(600_000 - 300);
    expect(db2.top_process?.comm).toBe("java");
    const web1 = hosts.find((h) => h.host === "web1")!;
    expect([web1.age_ms, web1.cpu_pct, web1.top_process]).toEqual([null, null, null]);
    expect(hosts.filter(isProblem).map((h) => h.host)).toEqual(["bad1", "db2"]);
    expectGolden("status-fleet.txt", renderStatus(hosts, { colour: false }));
  });

  test("a longer silent_after_s makes the same host running", async () => {
    const hosts = await hostStatuses(db, NOW, { silentAfterMs: 3_600_000 });
    expect(hosts.find((h) => h.host === "db2")!.state).toBe("running");
  });

  test("an empty fleet", async () => {
    expect(await hostStatuses(empty, NOW)).toEqual([]);
    expectGolden("status-empty.txt", renderStatus([], { colour: false }));
    const top = await topAt(empty, { by: "cpu", limit: 10, at: NOW });
    expect(top.rows).toEqual([]);
    // as `pmon top` renders it: the window searched and the store's (empty) span
    expectGolden("top-empty.txt", renderTop(top, { colour: false, window: { from: NOW - 600_000, to: NOW }, span: await sampleSpan(empty) }));
  });

  test("top --at across the fleet uses each host's sample at or before the time", async () => {
    const at = NOW - 570_000; // db1 has a sample at NOW-580s, db2 its last one at NOW-600s
    const r = await topAt(db, { by: "cpu", limit: 10, at });
    expect(r.hosts).toBe(2);
    expect(r.rows.map((x) => [x.host, x.pid, x.value, x.sample_time])).toEqual([
      ["db2", 3001, 300, NOW - 600_000],
      ["db1", 1001, 250, NOW - 580_000],
      ["db1", 1002, 100, NOW - 580_000],
      ["db1", 2001, 40, NOW - 580_000],
    ]);
    // shares: kept + rest of that host's sample
    expect(r.rows[0]!.share).toBeCloseTo(300 / 400, 6);
    expect(r.rows[1]!.share).toBeCloseTo(250 / 400, 6);
    expect(r.rows[0]!.cmdline).toBe("java -jar /opt/app/billing.jar");
    // the owner, which the web UI lists beside the command line
    expect(r.rows.map((x) => x.user)).toEqual(["app", "mysql", "mysql", "root"]);
    expectGolden("top-fleet-cpu-at.txt", renderTop(r, { colour: false }));
  });

  test("top --at for one host, by memory and by disk IO", async () => {
    const mem = await topAt(db, { by: "mem", limit: 2, host: "db1", at: NOW });
    expect(mem.rows.map((x) => [x.pid, x.value])).toEqual([
      [1001, 24 * GiB],
      [1003, 8 * GiB],
    ]);
    expect(mem.rows[0]!.share).toBeCloseTo(24 / 36, 6);
    expectGolden("top-db1-mem-at.txt", renderTop(mem, { colour: false }));
    const io = await topAt(db, { by: "io", limit: 10, host: "db1", at: NOW });
    expect(io.rows[0]!.comm).toBe("xtrabackup");
    expect(io.rows[0]!.value).toBe(60 * MiB);
    expect(io.rows[0]!.share).toBeCloseTo(60 / (12 + 2 + 60 + 2), 6);
  });

  test("a host that was not reporting at that time has no rows", async () => {
    // db2's last sample is 10 min before NOW: too old for a 5 min lookback
    const r = await topAt(db, { by: "cpu", limit: 10, host: "db2", at: NOW, lookbackMs: 300_000 });
    expect(r.hosts).toBe(0);
    expect(r.rows).toEqual([]);
    const before = await topAt(db, { by: "cpu", limit: 10, at: NOW - 3_600_000 });
    expect(before.hosts).toBe(0);
    // within the default 10 min lookback it is found
    expect((await topAt(db, { by: "cpu", limit: 10, host: "db2", at: NOW })).rows[0]!.sample_time).toBe(NOW - 600_000);
  });

  test("top over a range averages per process identity", async () => {
    const r = await topRange(db, { by: "cpu", limit: 10, host: "db1", from: NOW - 600_000, to: NOW });
    // 20 samples from NOW-580s to NOW-10s; pid 1002 lived in the first 10, pid 1003 in the other 10
    expect(r.rows.map((x) => [x.pid, x.samples, x.host_samples])).toEqual([
      [1001, 20, 20],
      [1002, 10, 20],
      [1003, 10, 20],
      [2001, 20, 20],
    ]);
    expect(r.rows[1]!.value).toBeCloseTo(50, 6);
    expect(r.rows[0]!.share).toBeCloseTo(250 / 400, 6);
    expectGolden("top-db1-cpu-range.txt", renderTop(r, { colour: false }));
    const net = await topRange(db, { by: "net", limit: 3, from: NOW - 3_600_000, to: NOW });
    expect(net.rows.map((x) => [x.host, x.pid])).toEqual([
      ["db2", 3001],
      ["db1", 1001],
      ["db1", 1002],
    ]);
  });
});
