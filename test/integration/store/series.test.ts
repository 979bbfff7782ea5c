// hostSeries (the web UI's host charts) on both backends: every sample when they fit, averaged
// buckets when not, the heaviest processes stacked with an honest `rest`, and the host, disk,
// port, interface and filesystem series in bytes and percent.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { sqlTime, type Db } from "../../../src/store/db.ts";
import { insertRows, writeReports } from "../../../src/store/reports.ts";
import { hostSeries } from "../../../src/store/series.ts";
import { defaultProcesses, makeReport } from "../../helpers/reports.ts";
import { BACKENDS, openMigratedForSuite } from "../../helpers/store/backends.ts";

setDefaultTimeout(60_000);

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const HOST = "s1";
const HOST_INFO_COLUMNS = ["rshost", "cpu_info", "mem_info", "io_info", "net", "a_time"];
/** mysqld's CPU in each of the 6 reports, 30 s apart; sshd (pid 900) is missing from the 3rd */
const MYSQLD_CPU = [250, 100, 50, 300, 200, 150];
const TIMES = MYSQLD_CPU.map((_, i) => T0 + i * 30_000);

describe.each(BACKENDS)("hostSeries on $name", (backend) => {
  let db: Db;
  openMigratedForSuite(backend, (h) => (db = h.db));

  beforeAll(async () => {
    const reports = MYSQLD_CPU.map((cpu, i) =>
      makeReport({
        host: HOST,
        time: TIMES[i]!,
        processes: defaultProcesses()
          .map((p) => (p.pid === 4242 ? { ...p, cpu_pct: cpu } : p))
          .filter((p) => !(i === 2 && p.pid === 900)),
      }),
    );
    // another host in the same window must not leak in
    reports.push(makeReport({ host: "other", time: T0 + 30_000 }));
    await writeReports(db, reports.map((report) => ({ report, receivedAt: report.time + 100 })));
  });

  test("every sample when they fit: host figures in bytes and percent, processes stacked with rest", async () => {
    const s = await hostSeries(db, { host: HOST, from: T0 - 1000, to: T0 + 200_000, topK: 2 });
    expect(s.step_s).toBe(1);
    expect(s.times).toEqual(TIMES);
    expect(s.cpu_pct).toEqual(TIMES.map(() => 27.5)); // idle 72.5
    expect(s.mem_used_bytes).toEqual(TIMES.map(() => 40 * GiB));
    expect(s.net_rx_bytes_per_s).toEqual(TIMES.map(() => 13 * MiB)); // eth0, not lo
    expect(s.net_tx_bytes_per_s).toEqual(TIMES.map(() => 21 * MiB));
    expect(s.disk_read_bytes_per_s).toEqual(TIMES.map(() => 16 * MiB)); // sda + sdb

    // top 2 by CPU over the range: mysqld, then the pmon agent (1.2 %); kworker 0.3 + sshd 0.1 + rest 12.5
    expect(s.cpu.processes.map((p) => [p.pid, p.comm, p.user, p.instance])).toEqual([
      [4242, "mysqld", "mysql", "3306"],
      [1201, "pmon", "pmon", ""],
    ]);
    expect(s.cpu.processes[0]!.values).toEqual(MYSQLD_CPU);
    const rest = s.cpu.rest.map((v) => Math.round(v * 100) / 100);
    expect(rest).toEqual([12.9, 12.9, 12.8, 12.9, 12.9, 12.9]); // sshd absent from the 3rd sample
    expect(s.mem.processes[0]!.values).toEqual(TIMES.map(() => 6.5 * GiB));

    expect(s.devices.map((d) => [d.name, d.util_pct[0]])).toEqual([["/dev/sdb", 75.5]]); // sda is under the thresholds
    expect(s.ports.map((p) => [p.name, p.rx[0], p.tx[0]])).toEqual([["3306", 12 * MiB, 20 * MiB]]);
    expect(s.unattributed.map((u) => [u.name, u.rx[0], u.tx[0]])).toEqual([["eth0", 2048, 1024]]);
    // per interface, lo included
    expect(s.interfaces.map((i) => [i.name, i.rx, i.tx])).toEqual([
      ["eth0", TIMES.map(() => 13 * MiB), TIMES.map(() => 21 * MiB)],
      ["lo", TIMES.map(() => 1 * MiB), TIMES.map(() => 1 * MiB)],
    ]);
    expect(s.filesystems.map((f) => [f.mount, f.used_pct[0]])).toEqual([
      ["/", 40],
      ["/work", 75],
    ]);
  });

  test("more samples than points: buckets average over the host's samples, each point at its last sample", async () => {
    const from = T0 - 1000;
    const to = T0 + 150_000;
    const s = await hostSeries(db, { host: HOST, from, to, maxPoints: 3, topK: 1 });
    const step = Math.ceil((to - from) / 1000 / 3);
    expect(s.step_s).toBe(step);
    const buckets = new Map<number, number[]>();
    TIMES.forEach((t, i) => {
      const b = Math.floor(t / 1000 / step);
      buckets.set(b, [...(buckets.get(b) ?? []), i]);
    });
    expect(s.times).toEqual([...buckets.values()].map((idx) => TIMES[idx[idx.length - 1]!]!));
    expect(s.cpu.processes[0]!.values).toEqual([...buckets.values()].map((idx) => idx.reduce((sum, i) => sum + MYSQLD_CPU[i]!, 0) / idx.length));
    expect(s.cpu_pct.every((v) => v === 27.5)).toBe(true);
  });

  test("fields old rows lack are null (shown as -), never 0; a point averages only the samples that carried a field", async () => {
    const t1 = T0 + 3_600_000;
    // insertRows: SQLite stores a_time in another form (schema migration 7)
    await insertRows(db, { table: "tb_monitor_host_info", columns: HOST_INFO_COLUMNS, rows: [
      ["old1", JSON.stringify({ total: 4, load: 1 }), null, JSON.stringify({}), JSON.stringify({ receive: 2 }), sqlTime(t1)],
      ["old1", JSON.stringify({ total: 4, id: 40 }), null, JSON.stringify({}), JSON.stringify({ receive: 4 }), sqlTime(t1 + 1000)],
    ] });
    const s = await hostSeries(db, { host: "old1", from: t1 - 1000, to: t1 + 60_000, maxPoints: 1 });
    expect(s.times).toEqual([t1 + 1000]);
    expect(s.cpu_pct).toEqual([60]); // only the second sample has idle
    expect(s.net_rx_bytes_per_s).toEqual([3 * 1024]);
    expect([s.mem_used_bytes, s.disk_read_bytes_per_s, s.net_tx_bytes_per_s]).toEqual([[null], [null], [null]]);
    expect(s.cpu.processes).toEqual([]);
    expect(s.cpu.rest).toEqual([0]);
  });

  test("per-interface traffic: rows before it are gaps, an idle interface in a newer row is 0, a bucket averages the rows that carried it", async () => {
    const t2 = T0 + 7_200_000;
    const old = JSON.stringify({ speed: 0, send: 1, receive: 1, Total: 2 });
    // an old row, then two new ones: eth1 busy only in the last
    await insertRows(db, { table: "tb_monitor_host_info", columns: HOST_INFO_COLUMNS, rows: [["mixed1", "{}", "{}", "{}", old, sqlTime(t2)]] });
    const newer = [
      makeReport({ host: "mixed1", time: t2 + 30_000, system: { interfaces: [{ name: "eth0", rx_bytes_per_s: 4096, tx_bytes_per_s: 2048, speed_mbps: null }, { name: "eth1", rx_bytes_per_s: 0, tx_bytes_per_s: 0, speed_mbps: null }] } as never }),
      makeReport({ host: "mixed1", time: t2 + 60_000, system: { interfaces: [{ name: "eth0", rx_bytes_per_s: 2048, tx_bytes_per_s: 0, speed_mbps: null }, { name: "eth1", rx_bytes_per_s: 1024, tx_bytes_per_s: 512, speed_mbps: null }] } as never }),
    ];
    await writeReports(db, newer.map((report) => ({ report, receivedAt: report.time + 100 })));
    const each = await hostSeries(db, { host: "mixed1", from: t2 - 1000, to: t2 + 90_000 });
    expect(each.interfaces.map((i) => [i.name, i.rx, i.tx])).toEqual([
      ["eth0", [null, 4096, 2048], [null, 2048, 0]],
      ["eth1", [null, 0, 1024], [null, 0, 512]],
    ]);
    // one 600 s bucket (t2 is on a 600 s boundary) holding all three rows: the old row does not count
    const one = await hostSeries(db, { host: "mixed1", from: t2, to: t2 + 600_000, maxPoints: 1 });
    expect(one.step_s).toBe(600);
    expect(one.interfaces.map((i) => [i.name, i.rx, i.tx])).toEqual([
      ["eth0", [3072], [1024]],
      ["eth1", [512], [256]],
    ]);
  });

  test("a host or range without reports gives no points", async () => {
    const none = await hostSeries(db, { host: "nobody", from: T0, to: T0 + 60_000 });
    expect([none.times, none.cpu.processes, none.devices]).toEqual([[], [], []]);
    const before = await hostSeries(db, { host: HOST, from: T0 - 3_600_000, to: T0 - 60_000 });
    expect(before.times).toEqual([]);
  });
});
