// Builders for valid Reports (decodeReport accepts every one of them): a realistic host by default,
// with named overrides for what a test cares about. Shared by the store, server, views and alerts tests.
import { decodeReport, PROTOCOL_VERSION, REPORT, type ConnectionRecord, type Field, type ProcessRecord, type Report } from "../../src/protocol/report.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Deep-partial overrides: nested `system` sections merge, arrays replace. */
export type ReportOverrides = Partial<Omit<Report, "system" | "rest">> & {
  system?: { [K in keyof Report["system"]]?: Report["system"][K] extends unknown[] ? Report["system"][K] : Partial<Report["system"][K]> };
  rest?: Partial<Report["rest"]>;
};

let seq = 0;

/** One process; defaults to an idle bash owned by root. */
export function makeProcess(over: Partial<ProcessRecord> = {}): ProcessRecord {
  const pid = over.pid ?? 1000 + (++seq % 30000);
  return {
    pid,
    start_time: 1_760_000_000_000 + pid * 10,
    ppid: 1,
    user: "root",
    comm: "bash",
    cmdline: "/bin/bash",
    instance: "",
    cpu_pct: 0.5,
    rss_bytes: 4 * MiB,
    read_bytes_per_s: 0,
    write_bytes_per_s: 0,
    net_rx_bytes_per_s: 0,
    net_tx_bytes_per_s: 0,
    threads: 1,
    ...over,
  };
}

export function makeConnection(over: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return { pid: 4242, local: "10.0.0.5:3306", remote: "10.0.0.9:51234", rx_bytes_per_s: 12 * MiB, tx_bytes_per_s: 20 * MiB, ...over };
}

/** The typical busy database host the legacy dashboard was built for: a MySQL over every threshold, a few helpers. */
export function defaultProcesses(): ProcessRecord[] {
  return [
    makeProcess({
      pid: 4242,
      start_time: 1_760_000_000_000,
      user: "mysql",
      comm: "mysqld",
      cmdline: "/usr/sbin/mysqld --defaults-file=/etc/my3306.cnf --port=3306",
      instance: "3306",
      cpu_pct: 250.5,
      rss_bytes: 6.5 * GiB,
      read_bytes_per_s: 15 * MiB,
      write_bytes_per_s: 12 * MiB,
      net_rx_bytes_per_s: 12 * MiB,
      net_tx_bytes_per_s: 20 * MiB,
      threads: 64,
    }),
    makeProcess({ pid: 900, comm: "sshd", cmdline: "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", cpu_pct: 0.1, rss_bytes: 8 * MiB }),
    makeProcess({ pid: 1201, user: "pmon", comm: "pmon", cmdline: "/opt/pmon/pmon agent", cpu_pct: 1.2, rss_bytes: 60 * MiB, threads: 4 }),
    makeProcess({ pid: 77, ppid: 2, comm: "kworker/0:1", cmdline: "", cpu_pct: 0.3, rss_bytes: 0, threads: 1 }),
  ];
}

/** A complete, valid report. `time` defaults to now; `id` is unique per call. */
export function makeReport(over: ReportOverrides = {}): Report {
  const host = over.host ?? "10.0.0.5";
  const time = over.time ?? Date.now();
  const base: Report = {
    v: PROTOCOL_VERSION,
    id: `${host}-boot1-${++seq}`,
    host,
    agent_version: "0.1.0",
    time,
    interval_ms: 30_000,
    system: {
      cpu: { count: 32, load1: 3.5, load5: 2.25, load15: 1.75, user_pct: 20, system_pct: 5, idle_pct: 72.5, iowait_pct: 2.5, steal_pct: 0 },
      memory: { total_bytes: 64 * GiB, used_bytes: 40 * GiB, available_bytes: 24 * GiB, swap_total_bytes: 2 * GiB, swap_used_bytes: 0 },
      filesystems: [
        { device: "/dev/sda1", mount: "/", fstype: "ext4", total_bytes: 100 * GiB, used_bytes: 40 * GiB, free_bytes: 60 * GiB },
        { device: "/dev/sdb1", mount: "/work", fstype: "xfs", total_bytes: 2000 * GiB, used_bytes: 1500 * GiB, free_bytes: 500 * GiB },
      ],
      disks: [
        { device: "sda", read_bytes_per_s: 1 * MiB, write_bytes_per_s: 2 * MiB, util_pct: 10, avgqu: 0.5 },
        { device: "sdb", read_bytes_per_s: 15 * MiB, write_bytes_per_s: 12 * MiB, util_pct: 75.5, avgqu: 6.25 },
      ],
      interfaces: [
        { name: "eth0", rx_bytes_per_s: 13 * MiB, tx_bytes_per_s: 21 * MiB, speed_mbps: 10000 },
        { name: "lo", rx_bytes_per_s: 1 * MiB, tx_bytes_per_s: 1 * MiB, speed_mbps: null },
      ],
    },
    processes: defaultProcesses(),
    rest: { count: 180, cpu_pct: 12.5, rss_bytes: 3 * GiB, read_bytes_per_s: 512 * 1024, write_bytes_per_s: 256 * 1024, net_rx_bytes_per_s: 1 * MiB, net_tx_bytes_per_s: 1 * MiB },
    connections: [makeConnection(), makeConnection({ pid: null, local: "10.0.0.5:22", remote: "10.0.0.1:60000", rx_bytes_per_s: 11 * MiB, tx_bytes_per_s: 1024 })],
    listen_ports: [{ port: 3306, pid: 4242, connections: 12, rx_bytes_per_s: 12 * MiB, tx_bytes_per_s: 20 * MiB }],
    unattributed: [{ interface: "eth0", rx_bytes_per_s: 2048, tx_bytes_per_s: 1024 }],
    capabilities: { io: true, sock_diag: true, user_hz: 100 },
    collector_errors: {},
  };
  const { system, rest, ...top } = over;
  const report: Report = {
    ...base,
    ...top,
    system: {
      cpu: { ...base.system.cpu, ...system?.cpu },
      memory: { ...base.system.memory, ...system?.memory },
      filesystems: system?.filesystems ?? base.system.filesystems,
      disks: system?.disks ?? base.system.disks,
      interfaces: system?.interfaces ?? base.system.interfaces,
    },
    rest: { ...base.rest, ...rest },
  };
  // Fail at the call site, not in the code under test, when an override breaks the schema.
  return decodeReport(JSON.parse(JSON.stringify(report)));
}

/** `n` consecutive reports of one host, `intervalMs` apart, ending at `endTime`. */
export function makeReportSeries(n: number, over: ReportOverrides & { endTime?: number; intervalMs?: number } = {}): Report[] {
  const { endTime = Date.now(), intervalMs = 30_000, ...rest } = over;
  return Array.from({ length: n }, (_, i) => makeReport({ ...rest, time: endTime - (n - 1 - i) * intervalMs, interval_ms: intervalMs }));
}

/**
 * A report built from the protocol's table with every number at its limit ("min" or "max") and every
 * string at its longest: one item per list, every nullable field set. decodeReport accepts it.
 */
export function extremeReport(end: "min" | "max", host = "x".repeat(255)): Report {
  const build = (f: Field, name: string): unknown => {
    switch (f.kind) {
      case "int":
      case "number":
        return end === "max" ? f.max : f.min;
      case "string":
        // the two patterned strings: the host name, and alerts_sent[].state
        return name === "host" ? host : name === "state" ? "resolved" : "é".repeat(f.maxLength);
      case "literal":
        return f.value;
      case "nullable":
        return build(f.of, name);
      case "object":
        return Object.fromEntries(Object.entries(f.fields as Record<string, Field>).map(([k, x]) => [k, build(x, k)]));
      case "array":
        return [build(f.of, name)];
      case "map":
        return { ["k".repeat(f.maxKeyLength)]: build(f.of, name) };
      case "scalar":
        return "s".repeat(f.maxLength);
      case "boolean":
        return end === "max";
      case "optional":
        return build(f.of, name); // present: the extreme report sets every field
    }
  };
  return decodeReport(build(REPORT, "report"));
}
