// The collector over the fixture trees: proc/ then proc-next/ (README there documents each pid).
import { describe, expect, test } from "bun:test";
import { readProcText } from "../../../src/procfs/read.ts";
import { createProcFs } from "../../../src/procfs/fs.ts";
import { decodeReport, type ProcessRecord } from "../../../src/protocol/report.ts";
import type { NetworkCollector } from "../../../src/collect/types.ts";
import type { ExitSource } from "../../../src/collect/exits.ts";
import type { TaskExit } from "../../../src/net/taskstats.ts";
import { fixtureCollector, fixtureReport, PROC, PROC_NEXT } from "../../helpers/collect/helpers.ts";

const byPid = (ps: ProcessRecord[], pid: number) => ps.find((p) => p.pid === pid);

describe("fixture report", () => {
  const r = fixtureReport({ topN: 100 }); // keep everything so each pid can be checked

  test("passes decodeReport", () => {
    expect(decodeReport(JSON.parse(JSON.stringify(r)))).toBeTruthy();
  });
  test("window is the uptime difference of the two trees", () => {
    expect(r.interval_ms).toBe(2000);
    expect(r.host).toBe("fixture-host");
    expect(r.id).toBe("fixture-1");
    expect(r.time).toBe(1_700_001_002_000);
  });
  test("host cpu percentages over the window", () => {
    // deltas: user 300 + nice 20, system 120 + softirq 10, idle 300, iowait 40, steal 10 = 800 ticks
    expect(r.system.cpu).toEqual({ count: 4, load1: 4.52, load5: 3.1, load15: 2.05, user_pct: 40, system_pct: 16.25, idle_pct: 37.5, iowait_pct: 5, steal_pct: 1.25 });
  });
  test("memory: used = total - available, in bytes", () => {
    expect(r.system.memory).toEqual({
      total_bytes: 16303792 * 1024,
      used_bytes: (16303792 - 8151896) * 1024,
      available_bytes: 8151896 * 1024,
      swap_total_bytes: 2097148 * 1024,
      swap_used_bytes: (2097148 - 1048574) * 1024,
    });
  });
  test("filesystems: real ones only, deduped by device, statfs failures counted", () => {
    expect(r.system.filesystems).toEqual([{ device: "/dev/sda1", mount: "/", fstype: "ext4", total_bytes: 4096000, used_bytes: 2457600, free_bytes: 1228800 }]);
    expect(r.collector_errors.statfs_failed).toBe(1); // /dev/mapper/vg-data on a path that does not exist here
  });
  test("disks: whole devices, no partitions or loop; rates, util, avgqu; a backwards counter gives 0", () => {
    expect(r.system.disks).toEqual([
      { device: "sda", read_bytes_per_s: 5 * 1024 * 1024, write_bytes_per_s: 10 * 1024 * 1024, util_pct: 50, avgqu: 1.5 },
      { device: "dm-0", read_bytes_per_s: 512 * 1024, write_bytes_per_s: 0, util_pct: 10, avgqu: 0.05 },
      { device: "nvme0n1", read_bytes_per_s: 0, write_bytes_per_s: 0, util_pct: 0, avgqu: 0 },
    ]);
  });
  test("interfaces: rates and link speed (null where unknown)", () => {
    expect(r.system.interfaces).toEqual([
      { name: "lo", rx_bytes_per_s: 10000, tx_bytes_per_s: 10000, speed_mbps: null },
      { name: "eth0", rx_bytes_per_s: 1000000, tx_bytes_per_s: 500000, speed_mbps: 10000 },
      { name: "docker0", rx_bytes_per_s: 0, tx_bytes_per_s: 0, speed_mbps: null },
      { name: "tun0", rx_bytes_per_s: 0, tx_bytes_per_s: 0, speed_mbps: null },
    ]);
  });
  test("mysqld: rates, rss, start time, instance from args and LISTEN sockets (tcp + tcp6)", () => {
    const p = byPid(r.processes, 100)!;
    expect(p).toMatchObject({ ppid: 1, comm: "mysqld", threads: 38, cpu_pct: 70, rss_bytes: 1024 ** 3, read_bytes_per_s: 2 * 1024 * 1024, write_bytes_per_s: 24 * 1024 * 1024 });
    expect(p.start_time).toBe(1_700_000_000_000 + 20_000); // btime + 2000 ticks / 100
    expect(p.instance).toBe("defaults-file=/etc/my3307.cnf port=3307 listen=3307,33070");
    expect(p.cmdline).toBe("/usr/sbin/mysqld --defaults-file=/etc/my3307.cnf --port=3307 --user=mysql");
  });
  test("tricky comms and a kernel thread", () => {
    expect(byPid(r.processes, 200)!.comm).toBe("(a b) c)");
    expect(byPid(r.processes, 200)!.cpu_pct).toBe(85);
    expect(byPid(r.processes, 201)!.comm).toBe("foo\nbar");
    expect(byPid(r.processes, 2)!.cmdline).toBe("");
  });
  test("huge counters give exact small rates", () => {
    expect(byPid(r.processes, 400)).toMatchObject({ cpu_pct: 10, read_bytes_per_s: 1024 * 1024, write_bytes_per_s: 1024 * 1024, instance: "port=9999" });
  });
  test("vanished pid 500 is gone and not counted as an error", () => {
    expect(byPid(r.processes, 500)).toBeUndefined();
    expect(Object.keys(r.collector_errors)).toEqual(["statfs_failed"]);
  });
  test("reused pid 600 is a new process born in the window: counted from zero, never negative", () => {
    const p = byPid(r.processes, 600)!;
    expect(p.comm).toBe("new-worker");
    expect(p.start_time).toBe(1_700_000_000_000 + 1_000_500);
    expect(p).toMatchObject({ cpu_pct: 50, read_bytes_per_s: 0, write_bytes_per_s: 1.5 * 1024 * 1024 });
  });
  test("new pid 700 born in the window is counted from zero", () => {
    expect(byPid(r.processes, 700)).toMatchObject({ cpu_pct: 20, read_bytes_per_s: 20 * 1024 * 1024, write_bytes_per_s: 3 * 1024 * 1024, instance: "defaults-file=/etc/backup.cnf" });
  });
  test("no network collector: zeros, empty arrays, sock_diag false", () => {
    expect(r.processes.every((p) => p.net_rx_bytes_per_s === 0 && p.net_tx_bytes_per_s === 0)).toBe(true);
    expect([r.connections, r.listen_ports, r.unattributed]).toEqual([[], [], []]);
    expect(r.capabilities).toEqual({ sock_diag: false });
  });
});

describe("selection", () => {
  test("with top_n 0 only threshold passers are kept and the rest adds up", () => {
    const all = fixtureReport({ topN: 100 });
    const r = fixtureReport({ topN: 0 });
    // java: 450 % CPU > 200 and 6 GiB > 5; mysqld writes 24 MiB/s > 10; backup reads 20 MiB/s > 10
    expect(r.processes.map((p) => p.pid)).toEqual([100, 700, 800]);
    expect(r.rest.count).toBe(all.processes.length - 3);
    const sum = (k: "cpu_pct" | "rss_bytes" | "read_bytes_per_s" | "write_bytes_per_s") => all.processes.reduce((s, p) => s + p[k], 0);
    for (const k of ["cpu_pct", "rss_bytes", "read_bytes_per_s", "write_bytes_per_s"] as const) {
      expect(r.processes.reduce((s, p) => s + p[k], 0) + r.rest[k]).toBeCloseTo(sum(k), 1);
    }
  });
  test("top 1 adds the leader of each category", () => {
    const r = fixtureReport({ topN: 1, thresholds: { process_cpu_pct: 1e9, process_mem_gib: 1e9, disk_io_mib_s: 1e9, net_mib_s: 1e9 } });
    // cpu: java 450; memory: java 6 GiB; disk: mysqld 26 MiB/s
    expect(r.processes.map((p) => p.pid)).toEqual([100, 800]);
  });
  test("network rates from the network collector drive selection and are reported", () => {
    const network: NetworkCollector = {
      sample: (ifaces) => {
        expect(ifaces.map((i) => i.name)).toContain("eth0");
        return {
          byPid: new Map([[902, { rx_bytes_per_s: 11 * 1024 * 1024, tx_bytes_per_s: 5 }]]),
          connections: [{ pid: 902, local: "10.0.0.1:5000", remote: "10.0.0.2:40000", rx_bytes_per_s: 1, tx_bytes_per_s: 2 }],
          listen_ports: [],
          unattributed: [{ interface: "eth0", rx_bytes_per_s: 3, tx_bytes_per_s: 4 }],
          errors: { sock_diag_failed: 2 },
        };
      },
      capabilities: { sock_diag: true, destroy_events: false },
      close: () => {},
    };
    const r = fixtureReport({ topN: 0, network });
    expect(r.processes.find((p) => p.pid === 902)).toMatchObject({ comm: "cron", net_rx_bytes_per_s: 11 * 1024 * 1024, net_tx_bytes_per_s: 5 });
    expect(r.connections).toHaveLength(1);
    expect(r.unattributed).toHaveLength(1);
    expect(r.capabilities).toEqual({ sock_diag: true, destroy_events: false });
    expect(r.collector_errors.sock_diag_failed).toBe(2);
  });
});

describe("robustness", () => {
  const denied = (suffix: string) => (path: string) => {
    if (path.endsWith(suffix)) throw Object.assign(new Error(`EACCES: ${path}`), { code: "EACCES" });
    return readProcText(path);
  };
  test("io that may not be read is counted, the process still reported with zero io", () => {
    const c = fixtureCollector({ proc: createProcFs(PROC, { readText: denied("/300/io") }), topN: 100 });
    c.collect();
    const r = c.collect({ proc: createProcFs(PROC_NEXT, { readText: denied("/300/io") }) })!;
    expect(r.collector_errors.pid_io_denied).toBe(1);
    expect(r.processes.find((p) => p.pid === 300)).toMatchObject({ comm: "nginx", cpu_pct: 30, read_bytes_per_s: 0, write_bytes_per_s: 0 });
  });
  test("io readable in the first sample only: no rate invented from a missing side", () => {
    const c = fixtureCollector({ topN: 100 });
    c.collect();
    const r = c.collect({ proc: createProcFs(PROC_NEXT, { readText: denied("/300/io") }) })!;
    expect(r.processes.find((p) => p.pid === 300)!.read_bytes_per_s).toBe(0);
  });
  test("a process vanishing between listing and reading is skipped silently", () => {
    const gone = (path: string) => {
      if (path.includes("/901/")) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      return readProcText(path);
    };
    const r = fixtureReport({ topN: 100 }, createProcFs(PROC_NEXT, { readText: gone }));
    expect(r.processes.find((p) => p.pid === 901)).toBeUndefined();
    expect(r.collector_errors).toEqual({ statfs_failed: 1 });
  });
  test("an unparsable stat is counted, not thrown", () => {
    const bad = (path: string) => (path.endsWith("/902/stat") ? "garbage" : readProcText(path));
    const r = fixtureReport({ topN: 100 }, createProcFs(PROC_NEXT, { readText: bad }));
    expect(r.collector_errors.pid_stat_parse).toBe(1);
    expect(r.processes.find((p) => p.pid === 902)).toBeUndefined();
  });
  test("the same tree twice: no negative or invented rates, window from the wall clock", async () => {
    const c = fixtureCollector({ topN: 100 });
    c.collect();
    await Bun.sleep(20);
    const r = c.collect()!;
    expect(r.interval_ms).toBeGreaterThanOrEqual(15);
    expect(r.processes.every((p) => p.cpu_pct === 0 && p.read_bytes_per_s === 0 && p.write_bytes_per_s === 0)).toBe(true);
    expect(r.system.disks.every((d) => d.read_bytes_per_s === 0)).toBe(true);
  });
  test("going back in time (proc-next, then proc) gives zeros, not negative rates", async () => {
    const c = fixtureCollector({ topN: 100, proc: createProcFs(PROC_NEXT) });
    c.collect();
    await Bun.sleep(5);
    const r = c.collect({ proc: createProcFs(PROC) })!;
    expect(decodeReport(r)).toBeTruthy();
    expect(r.processes.find((p) => p.pid === 600)!.comm).toBe("old-worker");
    expect(r.processes.find((p) => p.pid === 600)!.cpu_pct).toBe(0);
  });
  test("exec (same pid and starttime, new comm) refreshes the cached cmdline", async () => {
    const c = fixtureCollector({ topN: 100 });
    c.collect();
    expect(c.collect({ proc: createProcFs(PROC_NEXT) })!.processes.find((p) => p.pid === 901)!.cmdline).toBe("-bash");
    const exec = (path: string) => {
      if (path.endsWith("/901/stat")) return readProcText(path).replace("(bash)", "(java)");
      if (path.endsWith("/901/cmdline")) return "java\0-jar\0x.jar\0";
      return readProcText(path);
    };
    await Bun.sleep(5);
    const p = c.collect({ proc: createProcFs(PROC_NEXT, { readText: exec }) })!.processes.find((x) => x.pid === 901)!;
    expect(p.comm).toBe("java");
    expect(p.cmdline).toBe("java -jar x.jar");
  });
  test("ids carry a sequence; state only keeps live processes", () => {
    const c = fixtureCollector();
    c.collect();
    expect(c.collect({ proc: createProcFs(PROC_NEXT) })!.id).toBe("fixture-1");
    expect(c.collect({ proc: createProcFs(PROC) })!.id).toBe("fixture-2");
  });
});

describe("exit records", () => {
  const MiB = 1024 * 1024;
  const record = (o: Partial<TaskExit> & { pid: number; ppid: number }): TaskExit => ({
    version: 16, tgid: o.pid, groupDead: true, comm: "x", uid: 0, exitCode: 0, startS: 0, utimeUs: 0, stimeUs: 0, readBytes: 0, writeBytes: 0, cancelledWriteBytes: 0, ...o,
  });
  // the fixture window is uptime 1000 -> 1002 s after btime 1700000000
  const windowRecords = [
    // pid 500 (sleep, started 50 s after boot, 2 ticks, no io) vanishes in proc-next: its last stretch
    record({ pid: 500, ppid: 1, comm: "sleep", startS: 1_700_000_050, utimeUs: 30_000, writeBytes: 4 * MiB }),
    // born and gone inside the window
    record({ pid: 950, ppid: 901, comm: "dd", startS: 1_700_001_001, utimeUs: 100_000, stimeUs: 300_000, writeBytes: 30 * MiB }),
    // a thread of java (800) that ended: java lives on, nothing to report
    record({ pid: 850, tgid: 800, ppid: 1, groupDead: false, writeBytes: 99 * MiB }),
  ];
  const source = (): ExitSource => {
    let calls = 0;
    const overflow: Record<string, number> = { exits_overflow: 1 };
    return { drain: () => ({ exits: calls++ === 0 ? [] : windowRecords, errors: calls > 1 ? overflow : {} }), capabilities: { taskstats: true, exit_accounting: "taskstats" }, close() {} };
  };

  test("ended processes become records marked exited, with their stretch in the window; they pass decodeReport", () => {
    const r = fixtureReport({ topN: 100, exits: source() });
    expect(decodeReport(JSON.parse(JSON.stringify(r)))).toBeTruthy();
    expect(byPid(r.processes, 950)).toMatchObject({ comm: "dd", ppid: 901, exited: true, rss_bytes: 0, threads: 0, cmdline: "", cpu_pct: 20, write_bytes_per_s: 15 * MiB, start_time: 1_700_001_001_000 });
    expect(byPid(r.processes, 500)).toMatchObject({ comm: "sleep", exited: true, cpu_pct: 0.5, write_bytes_per_s: 2 * MiB, start_time: 1_700_000_050_000 });
    expect(r.processes.filter((p) => p.exited).map((p) => p.pid)).toEqual([500, 950]);
    expect(byPid(r.processes, 100)!.exited).toBe(false);
    expect(r.capabilities).toMatchObject({ sock_diag: false, taskstats: true, exit_accounting: "taskstats" });
    expect(r.collector_errors.exits_overflow).toBe(1);
  });

  test("exited records take part in selection, and kept + rest still add up to every process", () => {
    const all = fixtureReport({ topN: 100, exits: source() });
    const r = fixtureReport({ topN: 0, exits: source() });
    expect(r.processes.map((p) => p.pid)).toEqual([100, 700, 800, 950]); // dd wrote 15 MiB/s > 10
    expect(r.rest.count).toBe(all.processes.length - 4);
    for (const k of ["cpu_pct", "rss_bytes", "read_bytes_per_s", "write_bytes_per_s"] as const) {
      expect(r.processes.reduce((s, p) => s + p[k], 0) + r.rest[k]).toBeCloseTo(all.processes.reduce((s, p) => s + p[k], 0), 1);
    }
  });
});
