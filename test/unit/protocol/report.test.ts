// The report table: the validator it generates names the field that broke, its limits agree with the
// configuration, and fitReport makes anything the collector could produce acceptable to it.
import { describe, expect, test } from "bun:test";
import { KEYS } from "../../../src/config/schema.ts";
import { cutString, fitReport } from "../../../src/protocol/fit.ts";
import { checkReportTime, decodeReport, MAX_PID, MAX_REPORT_AGE_MS, MAX_ROWS_PER_REPORT, ReportError, rowCount, type Report } from "../../../src/protocol/report.ts";
import { extremeReport, makeProcess, makeReport } from "../../helpers/reports.ts";

const refusal = (value: unknown): string => {
  try {
    decodeReport(value);
  } catch (e) {
    if (e instanceof ReportError) return e.field;
    throw e;
  }
  return "accepted";
};

describe("validator generated from the table", () => {
  test("the table's own extremes pass; one step past a limit names the field", () => {
    expect(refusal(extremeReport("max"))).toBe("accepted");
    expect(refusal(extremeReport("min"))).toBe("accepted");
    const r = makeReport();
    const cases: [string, (x: Report) => void][] = [
      ["report.processes[0].pid", (x) => (x.processes[0]!.pid = MAX_PID + 1)],
      ["report.processes[0].pid", (x) => (x.processes[0]!.pid = 3e9)],
      ["report.processes[0].cpu_pct", (x) => (x.processes[0]!.cpu_pct = 1e307)],
      ["report.processes[0].rss_bytes", (x) => (x.processes[0]!.rss_bytes = Number.NaN)],
      ["report.time", (x) => (x.time = 9e15)],
      ["report.system.filesystems[0].device", (x) => (x.system.filesystems[0]!.device = "d".repeat(256))],
      ["report.connections[0].pid", (x) => (x.connections[0]!.pid = 0)],
      ["report.host", (x) => (x.host = "bad host")],
      ["report.v", (x) => ((x as { v: number }).v = 2)],
      ["report.processes", (x) => (x.processes = Array.from({ length: 30_000 }, (_, i) => makeProcess({ pid: i + 1 })))],
    ];
    for (const [field, spoil] of cases) {
      const bad = structuredClone(r);
      spoil(bad);
      expect(refusal(bad)).toBe(field);
    }
  });

  test("alerts_sent is optional: absent is fine (older agents), present is checked like any field", () => {
    const r = makeReport();
    expect("alerts_sent" in r).toBe(false);
    expect(refusal(r)).toBe("accepted");
    const sent = { kind: "server_down", state: "firing", since: r.time - 90_000, time: r.time, message: "no server", delivered: true, channels: 1 };
    expect(refusal({ ...r, alerts_sent: [sent] })).toBe("accepted");
    expect(refusal({ ...r, alerts_sent: null })).toBe("report.alerts_sent");
    expect(refusal({ ...r, alerts_sent: [{ ...sent, state: "<b>" }] })).toBe("report.alerts_sent[0].state");
    expect(refusal({ ...r, alerts_sent: [{ ...sent, delivered: 1 }] })).toBe("report.alerts_sent[0].delivered");
    expect(refusal({ ...r, alerts_sent: Array.from({ length: 17 }, () => sent) })).toBe("report.alerts_sent");
    // the agent's fitting cuts an over-long message instead of losing the report
    const fitted = fitReport({ ...r, alerts_sent: [{ ...sent, message: "m".repeat(5000), state: "firing" }] });
    expect(fitted.alerts_sent![0]!.message).toHaveLength(4000);
  });

  test("the rows cap counts every list that becomes rows", () => {
    const r = makeReport();
    r.processes = Array.from({ length: 1_500 }, (_, i) => makeProcess({ pid: i + 1 }));
    r.connections = Array.from({ length: 600 }, () => r.connections[0]!);
    expect(rowCount(r)).toBeGreaterThan(MAX_ROWS_PER_REPORT);
    expect(refusal(r)).toBe("report");
  });

  test("report time: within the signed time's window, from the oldest spool to max_skew ahead", () => {
    const signed = Date.UTC(2026, 5, 1);
    const at = (time: number) => () => checkReportTime(makeReport({ time }), signed, 300_000);
    expect(at(signed - MAX_REPORT_AGE_MS)).not.toThrow();
    expect(at(signed + 300_000)).not.toThrow();
    expect(at(signed - MAX_REPORT_AGE_MS - 1)).toThrow("report.time");
    expect(at(signed + 300_001)).toThrow("report.time");
  });

  test("the oldest report the server takes is the oldest the agent's spool may keep", () => {
    expect(KEYS["agent.spool_max_age_h"].max * 3_600_000).toBe(MAX_REPORT_AGE_MS);
  });
});

describe("fitReport: the agent sends only what the server accepts", () => {
  test("strings are cut to their limit without splitting a character", () => {
    expect(cutString("abc", 5)).toBe("abc");
    expect(cutString("abcdef", 3)).toBe("abc");
    expect(cutString("ab😀", 3)).toBe("ab"); // the emoji is two UTF-16 units: never half of it
    const r = makeReport();
    r.system.filesystems[0]!.device = "x".repeat(300);
    r.system.filesystems[0]!.fstype = "fuse." + "y".repeat(100);
    r.processes[0]!.cmdline = "c".repeat(70_000);
    r.processes[0]!.comm = "m".repeat(100);
    r.processes[0]!.user = "u".repeat(300);
    r.processes[0]!.instance = "i".repeat(2_000);
    const f = fitReport(r);
    expect(refusal(f)).toBe("accepted");
    expect(f.system.filesystems[0]!.device).toBe("x".repeat(255));
    expect(f.processes[0]!.cmdline.length).toBe(65_536);
    expect(f.collector_errors).toEqual({}); // cutting loses nothing worth counting
  });

  test("an item that still breaks the table is dropped and counted, not the report", () => {
    const r = makeReport();
    r.processes[1]!.cpu_pct = Number.NaN;
    r.system.cpu.user_pct = Number.NaN; // a fixed section cannot drop: the value is clamped
    r.connections[0]!.rx_bytes_per_s = Number.POSITIVE_INFINITY;
    const f = fitReport(r);
    expect(refusal(f)).toBe("accepted");
    expect(f.processes.length).toBe(r.processes.length - 1);
    expect(f.connections.length).toBe(r.connections.length - 1);
    expect(f.system.cpu.user_pct).toBe(0);
    expect(f.collector_errors).toEqual({ dropped_processes: 1, dropped_connections: 1, value_clamped: 1 });
  });

  test("30,000 processes: the least busy are folded into rest, totals unchanged", () => {
    const processes = Array.from({ length: 30_000 }, (_, i) => makeProcess({ pid: i + 1, cpu_pct: (i % 100) / 10, rss_bytes: 1024 * (i + 1) }));
    const r = makeReport();
    r.processes = processes;
    const f = fitReport(r);
    expect(refusal(f)).toBe("accepted");
    expect(rowCount(f)).toBe(MAX_ROWS_PER_REPORT);
    expect(f.collector_errors.folded_processes).toBe(30_000 - f.processes.length);
    const total = (x: Report) => x.processes.reduce((n, p) => n + p.rss_bytes, 0) + x.rest.rss_bytes;
    expect(total(f)).toBe(total(r));
    expect(f.processes.length + f.rest.count).toBe(r.processes.length + r.rest.count);
    // the busiest stayed
    expect(Math.min(...f.processes.map((p) => p.cpu_pct))).toBeGreaterThanOrEqual(Math.max(...processes.map((p) => p.cpu_pct)) - 1);
  });
});

describe("process.exited: optional, so reports of older agents (and their spools) still pass", () => {
  const withProcess = (p: object) => ({ ...JSON.parse(JSON.stringify(makeReport())), processes: [p] });

  test("absent, true or false is accepted", () => {
    expect(decodeReport(withProcess(makeProcess())).processes[0]!.exited).toBeUndefined();
    expect(decodeReport(withProcess(makeProcess({ exited: true }))).processes[0]!.exited).toBe(true);
    expect(decodeReport(withProcess(makeProcess({ exited: false }))).processes[0]!.exited).toBe(false);
  });

  test("anything else names the field; required fields stay required", () => {
    expect(refusal(withProcess({ ...makeProcess(), exited: 1 }))).toBe("report.processes[0].exited");
    const { threads: _, ...noThreads } = makeProcess();
    expect(refusal(withProcess(noThreads))).toBe("report.processes[0].threads");
  });

  test("fitReport keeps the flag as it is", () => {
    const r = makeReport({ processes: [makeProcess({ pid: 5, exited: true }), makeProcess({ pid: 6 })] });
    expect(fitReport(r).processes.map((p) => p.exited)).toEqual([true, undefined]);
  });
});
