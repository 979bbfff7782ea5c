// writeReports on both backends: every legacy table gets the right rows in the legacy units, the
// same report id is stored once, and a report the database rejects leaves no row behind.
import { sampleSpan } from "../../../src/store/sample-span.ts";
import { describe, expect, test, setDefaultTimeout } from "bun:test";
import { openDb, StoreUnavailableError, type Db } from "../../../src/store/db.ts";
import { registerHost, recordReportSeen } from "../../../src/store/hosts.ts";
import { md5Hex, sampleTime, wholeDisks, writeReports } from "../../../src/store/reports.ts";
import { TIME_SERIES_TABLES } from "../../../src/store/schema.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { BACKENDS, json, openMigrated, openMigratedForSuite } from "../../helpers/store/backends.ts";
import { extremeReport, makeProcess, makeReport } from "../../helpers/reports.ts";
import { ColumnRefusal } from "../../../src/store/columns.ts";

// DDL on a shared 2-core machine can take seconds; never assert timings here.
setDefaultTimeout(60_000);

const GiB = 1024 ** 3;
const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);

const DATA_TABLES = [...TIME_SERIES_TABLES, "tb_monitor_report_seen"];

async function counts(db: Db, host?: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of DATA_TABLES) {
    const [r] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}${host ? " WHERE rshost = ?" : ""}`, host ? [host] : []);
    out[t] = Number(r!.n);
  }
  return out;
}

describe("pure helpers", () => {
  test("sampleTime trusts the agent within the allowance, corrects a known skew, never exceeds arrival", () => {
    expect(sampleTime(T0, T0 + 2000, null)).toBe(T0);
    expect(sampleTime(T0, T0 + 2000, 10_000)).toBe(T0); // small skew = transit time
    expect(sampleTime(T0, T0 + 2000, 600_000)).toBe(T0 - 600_000); // agent 10 min ahead
    expect(sampleTime(T0 + 3_600_000, T0, null)).toBe(T0); // from the future: arrival time
    expect(sampleTime(T0 - 86_400_000, T0, null)).toBe(T0 - 86_400_000); // replayed spool keeps its time
  });

  test("wholeDisks drops partitions of listed devices", () => {
    const names = (ds: string[]) => wholeDisks(ds.map((device) => ({ device }))).map((d) => d.device);
    expect(names(["sda", "sda1", "sda2", "sdb", "nvme0n1", "nvme0n1p1", "dm-0", "md127"])).toEqual(["sda", "sdb", "nvme0n1", "dm-0", "md127"]);
    expect(names(["sda1", "nvme0n1p1"])).toEqual(["sda1", "nvme0n1p1"]);
  });
});

describe.each(BACKENDS)("writeReports on $name", (backend) => {
  let db: Db;
  openMigratedForSuite(backend, (h) => (db = h.db));

  test("a realistic report fills every table with legacy units and JSON keys", async () => {
    const host = "db-1.example";
    const r = makeReport({ host, time: T0 });
    expect(await writeReports(db, [{ report: r, receivedAt: T0 + 1500 }])).toEqual(["stored"]);
    const aTime = "2026-01-10 12:00:00";

    const [hi] = await db.query<any>("SELECT rshost, cpu_info, mem_info, io_info, net, a_time FROM tb_monitor_host_info WHERE rshost = ?", [host]);
    expect(hi.a_time).toBe(aTime);
    expect(json(hi.cpu_info)).toMatchObject({ total: 32, load: 3.5, id: 72.5, wa: 2.5 });
    expect(json(hi.mem_info)).toMatchObject({ total: 64, used: 40, free: 24 }); // GB
    // Total = processes + rest (KB/s); Actual = the disks (KB/s)
    const procRead = r.processes.reduce((n, p) => n + p.read_bytes_per_s, 0) + r.rest.read_bytes_per_s;
    const procWrite = r.processes.reduce((n, p) => n + p.write_bytes_per_s, 0) + r.rest.write_bytes_per_s;
    expect(json(hi.io_info)).toEqual({ Total: { read: procRead / 1024, write: procWrite / 1024 }, Actual: { read: 16 * 1024, write: 14 * 1024 } });
    // eth0 only (lo excluded): speed Mb/s, traffic KB/s
    // legacy keys for the old dashboard; per interface (lo included) [receive, send] in KB/s
    expect(json(hi.net)).toEqual({ speed: 10000, send: 21 * 1024, receive: 13 * 1024, Total: 34 * 1024, ifaces: { eth0: [13 * 1024, 21 * 1024], lo: [1024, 1024] } });

    const disks = await db.query<any>("SELECT part, disk_info, mount, fstype, total_bytes, a_time FROM tb_monitor_disk_info WHERE rshost = ? ORDER BY part", [host]);
    expect(disks.map((d) => [d.part, json(d.disk_info), d.mount, d.fstype, Number(d.total_bytes), d.a_time])).toEqual([
      ["/dev/sda1", { total: 100, used: 40, free: 60 }, "/", "ext4", 100 * GiB, aTime],
      ["/dev/sdb1", { total: 2000, used: 1500, free: 500 }, "/work", "xfs", 2000 * GiB, aTime],
    ]);

    // only sdb is over util 50 % / avgqu 5
    const uq = await db.query<any>("SELECT dev, avgqu, util, read_kbs, write_kbs FROM tb_monitor_disk_util_qu_info WHERE rshost = ?", [host]);
    expect(uq.map((u) => [u.dev, u.avgqu, u.util, u.read_kbs, u.write_kbs])).toEqual([["/dev/sdb", 6.25, 75.5, 15 * 1024, 12 * 1024]]);

    const conns = await db.query<any>("SELECT pid, rsinfo, remote, in_info, out_info FROM tb_monitor_port_net_info WHERE rshost = ? ORDER BY rsinfo", [host]);
    expect(conns.map((c) => [c.pid, c.rsinfo, c.remote, c.in_info, c.out_info])).toEqual([
      [null, "10.0.0.5:22", "10.0.0.1:60000", 11 * 1024, 1],
      [4242, "10.0.0.5:3306", "10.0.0.9:51234", 12 * 1024, 20 * 1024],
    ]);

    const procs = await db.query<any>(
      `SELECT t1.pid, t1.rsport, t1.start_time, t1.user, t1.instance, t1.cpu, t1.mem, t1.rss_bytes, t1.io_r, t1.io_w, t1.net_in, t1.net_out, t1.threads, t2.remarks
       FROM tb_monitor_process_io_info t1 JOIN tb_monitor_process_info t2 ON t1.md5_str = t2.md5_str WHERE t1.rshost = ? ORDER BY t1.pid`,
      [host],
    );
    expect(procs.length).toBe(4);
    const mysqld = procs.find((p) => p.pid === 4242);
    expect(mysqld).toMatchObject({ rsport: 4242, start_time: 1_760_000_000_000, user: "mysql", instance: "3306", rss_bytes: 6.5 * GiB, threads: 64 });
    expect(mysqld.remarks).toBe("/usr/sbin/mysqld --defaults-file=/etc/my3306.cnf --port=3306");
    expect(mysqld.cpu).toBeCloseTo(250.5, 3);
    expect(mysqld.mem).toBeCloseTo(6.5, 6); // exact GB, not whole GB
    expect([mysqld.io_r, mysqld.io_w, mysqld.net_in, mysqld.net_out]).toEqual([15 * 1024, 12 * 1024, 12 * 1024, 20 * 1024]);
    // a kernel thread has no command line: remarks = [comm]
    expect(procs.find((p) => p.pid === 77).remarks).toBe("[kworker/0:1]");
    const small = procs.find((p) => p.pid === 1201);
    expect(small.mem).toBeCloseTo(60 / 1024, 6);

    const [rest] = await db.query<any>("SELECT count, cpu, mem, rss_bytes, io_r, io_w, net_in, net_out FROM tb_monitor_process_rest_info WHERE rshost = ?", [host]);
    expect(rest).toMatchObject({ count: 180, cpu: 12.5, rss_bytes: 3 * GiB, io_r: 512, io_w: 256, net_in: 1024, net_out: 1024 });
    expect(rest.mem).toBeCloseTo(3, 6);

    const lp = await db.query<any>("SELECT port, pid, connections, in_info, out_info FROM tb_monitor_listen_port_info WHERE rshost = ?", [host]);
    expect(lp).toEqual([{ port: 3306, pid: 4242, connections: 12, in_info: 12 * 1024, out_info: 20 * 1024 }]);
    const un = await db.query<any>("SELECT iface, in_info, out_info FROM tb_monitor_net_unattributed_info WHERE rshost = ?", [host]);
    expect(un).toEqual([{ iface: "eth0", in_info: 2, out_info: 1 }]);
  });

  test("the same report id is stored once, within a batch and across batches", async () => {
    const host = "dup-host";
    const r = makeReport({ host, time: T0 });
    const other = makeReport({ host, time: T0 + 30_000 });
    expect(await writeReports(db, [{ report: r, receivedAt: T0 }, { report: r, receivedAt: T0 + 1 }, { report: other, receivedAt: T0 + 30_000 }])).toEqual(["stored", "duplicate", "stored"]);
    expect(await writeReports(db, [{ report: r, receivedAt: T0 + 60_000 }])).toEqual(["duplicate"]);
    const c = await counts(db, host);
    expect(c.tb_monitor_host_info).toBe(2);
    expect(c.tb_monitor_process_io_info).toBe(2 * r.processes.length);
    expect(c.tb_monitor_report_seen).toBe(2);
    // where this host's data starts and ends (what an empty `pmon top` names)
    expect(await sampleSpan(db, host)).toEqual({ first: T0, last: T0 + 30_000 });
    expect(await sampleSpan(db, "no-such-host")).toEqual({ first: null, last: null });
    // the same id from another host is a different report
    expect(await writeReports(db, [{ report: { ...r, host: "dup-host-2" }, receivedAt: T0 }])).toEqual(["stored"]);
  });

  test("a report the database rejects leaves no row of its batch; the good one then stores alone", async () => {
    const host = "bad-host";
    const good = makeReport({ host, time: T0 });
    // the protocol refuses it; written directly, the store's own column check still does
    const bad = makeReport({ host, time: T0 + 30_000, processes: [makeProcess({ pid: 5 })] });
    bad.processes[0]!.rss_bytes = 1e30;
    const before = await counts(db);
    await expect(writeReports(db, [{ report: good, receivedAt: T0 }, { report: bad, receivedAt: T0 + 30_000 }])).rejects.toThrow(ColumnRefusal);
    expect(await counts(db)).toEqual(before);
    await expect(writeReports(db, [{ report: bad, receivedAt: T0 + 30_000 }])).rejects.toThrow("processes[].rss_bytes does not fit the store");
    expect(await counts(db)).toEqual(before);
    expect(await writeReports(db, [{ report: good, receivedAt: T0 }])).toEqual(["stored"]);
    expect((await counts(db, host)).tb_monitor_host_info).toBe(1);
  });

  test("every value at the protocol's limits fits its column: the table's maxima, then its minima", async () => {
    for (const end of ["max", "min"] as const) {
      const r = extremeReport(end, `limits-${end}`);
      expect(await writeReports(db, [{ report: r, receivedAt: r.time }])).toEqual(["stored"]);
      const [p] = await db.query<{ pid: number; rss_bytes: number; cpu: number }>("SELECT pid, rss_bytes, cpu FROM tb_monitor_process_io_info WHERE rshost = ?", [r.host]);
      expect(Number(p!.pid)).toBe(r.processes[0]!.pid);
      expect(Number(p!.rss_bytes)).toBe(r.processes[0]!.rss_bytes);
    }
  });

  test("every string at the protocol's maximum length is stored whole (columns are wide enough)", async () => {
    const host = "h".repeat(255);
    const long = (n: number, c = "x") => c.repeat(n);
    const r = makeReport({
      host,
      id: long(128, "i"),
      agent_version: long(64, "v"),
      system: {
        filesystems: [{ device: long(255, "d"), mount: "/" + long(4095, "m"), fstype: long(64, "f"), total_bytes: 1, used_bytes: 1, free_bytes: 0 }],
        disks: [{ device: long(255, "s"), read_bytes_per_s: 1, write_bytes_per_s: 1, util_pct: 99, avgqu: 99 }],
        interfaces: [{ name: long(64, "e"), rx_bytes_per_s: 1, tx_bytes_per_s: 1, speed_mbps: 1 }],
      },
      processes: [makeProcess({ pid: 4_194_304, user: long(256, "u"), comm: long(64, "c"), cmdline: long(65_536, "é"), instance: long(1024, "n") })],
      connections: [{ pid: 1, local: long(64, "l"), remote: long(64, "r"), rx_bytes_per_s: 1, tx_bytes_per_s: 1 }],
      unattributed: [{ interface: long(64, "e"), rx_bytes_per_s: 1, tx_bytes_per_s: 1 }],
    });
    expect(await writeReports(db, [{ report: r, receivedAt: r.time }])).toEqual(["stored"]);
    const [p] = await db.query<any>(
      "SELECT t1.user, t1.instance, t2.remarks, t2.comm FROM tb_monitor_process_io_info t1 JOIN tb_monitor_process_info t2 ON t1.md5_str = t2.md5_str WHERE t1.rshost = ?",
      [host],
    );
    expect([p.user.length, p.instance.length, p.remarks.length, p.comm.length]).toEqual([256, 1024, 65_536, 64]);
    const [d] = await db.query<any>("SELECT part, mount, fstype FROM tb_monitor_disk_info WHERE rshost = ?", [host]);
    expect([d.part.length, d.mount.length, d.fstype.length]).toEqual([255, 4096, 64]);
    const [u] = await db.query<any>("SELECT dev FROM tb_monitor_disk_util_qu_info WHERE rshost = ?", [host]);
    expect(u.dev).toBe("/dev/" + long(255, "s"));
  });

  test("a process that ended in the window is stored with exited = 1; records without the flag (older agents) are 0", async () => {
    const host = "exited-host";
    const dd = makeProcess({ pid: 5150, comm: "dd", cmdline: "", rss_bytes: 0, threads: 0, write_bytes_per_s: 7 * 1024 * 1024, exited: true });
    const sh = makeProcess({ pid: 5149, comm: "sh", exited: false });
    const old = makeProcess({ pid: 5148, comm: "bash" }); // no exited field at all
    const r = makeReport({ host, processes: [dd, sh, old] });
    expect(await writeReports(db, [{ report: r, receivedAt: r.time }])).toEqual(["stored"]);
    const rows = await db.query<any>("SELECT pid, exited, io_w FROM tb_monitor_process_io_info WHERE rshost = ? ORDER BY pid", [host]);
    expect(rows.map((x) => [x.pid, Number(x.exited), x.io_w])).toEqual([
      [5148, 0, 0],
      [5149, 0, 0],
      [5150, 1, 7 * 1024],
    ]);
  });

  test("the command line is stored once per distinct text, never rewritten", async () => {
    const host = "dict-host";
    const reports = [0, 1, 2].map((i) => makeReport({ host, time: T0 + i * 30_000 }));
    for (const r of reports) await writeReports(db, [{ report: r, receivedAt: r.time }]);
    const remarks = "/usr/sbin/mysqld --defaults-file=/etc/my3306.cnf --port=3306";
    const rows = await db.query<any>("SELECT id, md5_str, remarks FROM tb_monitor_process_info WHERE md5_str = ?", [md5Hex(remarks)]);
    expect(rows.length).toBe(1);
    expect(rows[0].remarks).toBe(remarks);
    // a fresh connection (no in-memory memo) inserting it again keeps the same row id
    const again = makeReport({ host, time: T0 + 90_000 });
    await writeReports({ ...db } as Db, [{ report: again, receivedAt: again.time }]);
    const after = await db.query<any>("SELECT id FROM tb_monitor_process_info WHERE md5_str = ?", [md5Hex(remarks)]);
    expect(after).toEqual([{ id: rows[0].id }]);
  });

  test("a command line's a_time is the day it was last seen (for retention)", async () => {
    const host = "lastseen-host";
    const cmd = "/usr/bin/lastseen --daemon";
    const md5 = md5Hex(cmd);
    const at = async () => (await db.query<any>("SELECT a_time FROM tb_monitor_process_info WHERE md5_str = ?", [md5]))[0]?.a_time;
    for (const [i, t] of [T0, T0 + 60_000, T0 + 3 * 86_400_000].entries()) {
      const r = makeReport({ host, time: t, processes: [makeProcess({ pid: 10 + i, cmdline: cmd })] });
      await writeReports(db, [{ report: r, receivedAt: t }]);
      expect(await at()).toBe(i < 2 ? "2026-01-10 00:00:00" : "2026-01-13 00:00:00");
    }
  });

  test("a_time follows the host's measured clock skew", async () => {
    const host = "skewed-host";
    await registerHost(db, host, { secretHash: "x", istate: 2 });
    await recordReportSeen(db, host, { receivedAt: T0, agentTime: T0 + 600_000, agentVersion: "0.1.0", clockSkewMs: 600_000 });
    const r = makeReport({ host, time: T0 + 600_000 });
    await writeReports(db, [{ report: r, receivedAt: T0 + 1000 }]);
    const [row] = await db.query<any>("SELECT a_time FROM tb_monitor_host_info WHERE rshost = ?", [host]);
    expect(row.a_time).toBe("2026-01-10 12:00:00");
  });

  test("a burst of 200 reports from 50 hosts is one batch", async () => {
    const items = Array.from({ length: 200 }, (_, i) => {
      const report = makeReport({ host: `burst-${i % 50}`, time: T0 + Math.floor(i / 50) * 30_000 });
      return { report, receivedAt: report.time + 500 };
    });
    const out = await writeReports(db, items);
    expect(out.every((o) => o === "stored")).toBe(true);
    const [n] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE rshost LIKE 'burst-%'");
    expect(Number(n!.n)).toBe(200);
  });
});

describe("writeReports while MariaDB is down", () => {
  test("rejects with StoreUnavailableError (the server answers 503) and works again once it is back", async () => {
    const m = await testMariaDB("pmon_outage");
    const db = openDb(m.url);
    try {
      await migrate(db);
      const first = makeReport({ host: "outage-host", time: T0 });
      expect(await writeReports(db, [{ report: first, receivedAt: T0 }])).toEqual(["stored"]);
      await m.stop();
      try {
        const during = makeReport({ host: "outage-host", time: T0 + 30_000 });
        await expect(writeReports(db, [{ report: during, receivedAt: T0 + 30_000 }])).rejects.toBeInstanceOf(StoreUnavailableError);
      } finally {
        await m.start();
      }
      // the pool reconnects by itself
      const after = makeReport({ host: "outage-host", time: T0 + 60_000 });
      expect(await writeReports(db, [{ report: after, receivedAt: T0 + 60_000 }])).toEqual(["stored"]);
      expect(await writeReports(db, [{ report: first, receivedAt: T0 + 60_000 }])).toEqual(["duplicate"]);
    } finally {
      await db.close();
    }
  });
});

describe.each(BACKENDS)("broken text on $name", (backend) => {
  test("lone UTF-16 surrogates (broken /proc strings) are stored as U+FFFD, not rejected", async () => {
    const h = await openMigrated(backend);
    try {
      const r = makeReport({ host: "surrogate-host", id: "id-\ud800", processes: [makeProcess({ pid: 9, user: "u\udc00", cmdline: "/bin/x \ud83d", instance: "i\ud800" })] });
      expect(await writeReports(h.db, [{ report: r, receivedAt: r.time }])).toEqual(["stored"]);
      expect(await writeReports(h.db, [{ report: r, receivedAt: r.time }])).toEqual(["duplicate"]);
      const [p] = await h.db.query<any>("SELECT t1.user, t1.instance, t2.remarks FROM tb_monitor_process_io_info t1 JOIN tb_monitor_process_info t2 ON t1.md5_str = t2.md5_str WHERE t1.rshost = ?", ["surrogate-host"]);
      expect(p).toEqual({ user: "u\ufffd", instance: "i\ufffd", remarks: "/bin/x \ufffd" });
    } finally {
      await h.cleanup();
    }
  });
});
