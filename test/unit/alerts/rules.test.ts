import { describe, expect, it } from "bun:test";
import { formatDuration, saturationFiring, silentFiring, silentResolved, serverDownFiring } from "../../../src/alerts/messages.ts";
import { decideSilent, processLabel, saturationConditions, type SilentInput } from "../../../src/alerts/rules.ts";
import type { ProcessRecord } from "../../../src/protocol/report.ts";
import { makeProcess } from "../../helpers/reports.ts";
import { makeReport } from "../../helpers/alerts/helpers.ts";

const M = 60_000;
const T = Date.parse("2026-11-25T12:00:00Z");
const base: SilentInput = { lastReportAt: T, now: T, silentAfterMs: 2 * M, repeatEveryMs: 10 * M, maxRepeats: 10 };

describe("decideSilent", () => {
  const cases: [string, Partial<SilentInput>, ReturnType<typeof decideSilent>][] = [
    ["reporting host", { now: T + 1 * M }, { type: "none" }],
    ["silent for exactly 2 min opens, since = last report", { now: T + 2 * M }, { type: "open", since: T }],
    ["never reported: left to the deploy manager", { lastReportAt: null, now: T + 99 * M }, { type: "none" }],
    ["open, repeat not due", { now: T + 11 * M, alert: { open: true, sent: 1, since: T, lastAlertAt: T + 2 * M } }, { type: "none" }],
    ["open, repeat due", { now: T + 12 * M, alert: { open: true, sent: 1, since: T, lastAlertAt: T + 2 * M } }, { type: "repeat", fromSent: 1, since: T }],
    ["open, cap reached", { now: T + 500 * M, alert: { open: true, sent: 10, since: T, lastAlertAt: T + 92 * M } }, { type: "none" }],
    ["reports again after 10 alerts: recovery anyway", { lastReportAt: T + 100 * M, now: T + 100 * M, alert: { open: true, sent: 10, since: T, lastAlertAt: T + 92 * M } }, { type: "resolve", fromSent: 10, since: T, until: T + 100 * M }],
    ["closed row and reporting", { now: T + M, alert: undefined }, { type: "none" }],
  ];
  for (const [name, over, want] of cases) it(name, () => expect(decideSilent({ ...base, ...over })).toEqual(want));
});

const proc = (pid: number, over: Partial<ProcessRecord>): ProcessRecord =>
  makeProcess({ pid, start_time: 0, user: "mysql", comm: "mysqld", cmdline: "/usr/sbin/mysqld --defaults-file=/etc/my3307.cnf", cpu_pct: 0, rss_bytes: 0, ...over });

describe("saturationConditions", () => {
  const thresholds = { cpu_pct: 90, cpu_for_s: 300, mem_pct: 95, mem_for_s: 0, fs_pct: 90, util_pct: 90, util_for_s: 300 };
  it("names the processes responsible with their instance labels and host shares", () => {
    const r = makeReport("db1", "x", T, {
      processes: [
        proc(23727, { instance: "--port=3307", cpu_pct: 244, rss_bytes: 30 * 1024 ** 3 }),
        proc(109327, { comm: "java", instance: "zookeeper", cpu_pct: 88 }),
        proc(5, { comm: "sshd", cmdline: "sshd: root", cpu_pct: 1 }),
      ],
    });
    r.system.cpu = { ...r.system.cpu, count: 4, idle_pct: 3, iowait_pct: 0 };
    r.system.memory = { ...r.system.memory, total_bytes: 32 * 1024 ** 3, used_bytes: 31 * 1024 ** 3 };
    const cs = saturationConditions(r, thresholds);
    const cpu = cs.find((c) => c.kind === "cpu")!;
    expect(cpu.over).toBe(true);
    expect(cpu.value_pct).toBe(97);
    expect(cpu.culprits).toEqual([
      { pid: 23727, label: "mysqld --port=3307", share_pct: 61 },
      { pid: 109327, label: "java zookeeper", share_pct: 22 },
    ]);
    const mem = cs.find((c) => c.kind === "mem")!;
    expect(mem.over).toBe(true);
    expect(mem.culprits[0]).toMatchObject({ pid: 23727, label: "mysqld --port=3307" });
    expect(
      saturationFiring("en", { host: "db1", what: "cpu", value_pct: cpu.value_pct, threshold_pct: 90, since: T, lasted_ms: 6 * M, culprits: cpu.culprits }),
    ).toBe("pmon: db1: CPU 97 % for 6min (limit 90 %, since 2026-11-25 12:00:00 UTC); mysqld --port=3307 (pid 23727) 61 %, java zookeeper (pid 109327) 22 %");
  });

  it("filesystems as df counts them, disks by util, iowait is not busy", () => {
    const r = makeReport("h", "x", T);
    r.system.cpu = { ...r.system.cpu, idle_pct: 5, iowait_pct: 90 };
    r.system.filesystems = [
      { device: "/dev/sdb1", mount: "/data", fstype: "xfs", total_bytes: 100, used_bytes: 91, free_bytes: 4 },
      { device: "/dev/sda1", mount: "/", fstype: "ext4", total_bytes: 100, used_bytes: 50, free_bytes: 50 },
    ];
    r.system.disks = [{ device: "sdb", read_bytes_per_s: 0, write_bytes_per_s: 0, util_pct: 99, avgqu: 9 }];
    const by = Object.fromEntries(saturationConditions(r, thresholds).map((c) => [c.kind, c]));
    expect(by.cpu!.over).toBe(false);
    expect(by["fs:/data"]!.over).toBe(true);
    expect(Math.round(by["fs:/data"]!.value_pct)).toBe(96);
    expect(by["fs:/"]!.over).toBe(false);
    expect(by["util:sdb"]).toMatchObject({ over: true, for_ms: 300_000, target: "sdb" });
  });

  it("labels without an instance fall back to the command line, shortened", () => {
    expect(processLabel(proc(1, { comm: "python3", cmdline: "python3 /opt/jobs/nightly_rebuild_of_everything_with_a_long_name.py --all --verbose" }))).toBe(
      "python3 /opt/jobs/nightly_rebuild_of_everything_with_a_lo...",
    );
  });
});

describe("messages", () => {
  it("keeps the old Chinese wording and says since when and how long", () => {
    expect(silentFiring("zh", { host: "10.0.0.1", afterS: 120, since: T, count: 2, max: 10 })).toBe(
      "进程监控, 超过2min未上报的节点有 : 10.0.0.1 (自 2026-11-25 12:00:00 UTC 起未上报, 第 2/10 次告警)",
    );
    expect(silentResolved("zh", { host: "10.0.0.1", afterS: 120, since: T, until: T + 75 * M })).toBe(
      "告警恢复: 进程监控, 超过2min未上报的节点有 : 10.0.0.1 (已恢复上报, 持续 1h15min, 自 2026-11-25 12:00:00 UTC 起)",
    );
    expect(serverDownFiring("zh", { reporter: "10.0.0.2", servers: ["http://10.0.0.9:9300"], since: T, rounds: 3 })).toBe(
      "10.0.0.2 报告, 进程监控, server 端连接异常 : http://10.0.0.9:9300 (自 2026-11-25 12:00:00 UTC 起, 连续 3 轮失败)",
    );
    expect(silentResolved("en", { host: "h", afterS: 120, since: T, until: T + 5 * M })).toContain("was silent for 5min");
  });
  it("formats durations", () => {
    expect([45_000, 120_000, 3_900_000, 86_400_000 + 3_600_000 * 3].map(formatDuration)).toEqual(["45s", "2min", "1h5min", "1d3h"]);
  });
});
