// A small, fully known fleet written through the store's own writeReports, so status and top are
// checked against exact numbers (golden files) on SQLite and MariaDB alike.
import type { ProcessRecord, Report, RestRecord } from "../../../src/protocol/report.ts";
import { setHostState, registerHost, recordReportSeen } from "../../../src/store/hosts.ts";
import type { Db } from "../../../src/store/db.ts";
import { writeReports } from "../../../src/store/reports.ts";
import { makeProcess } from "../reports.ts";

/** The fixed "now" of the fixture: 2026-11-24 03:00:00 UTC. */
export const NOW = Date.UTC(2026, 10, 24, 3, 0, 0);
export const INTERVAL_MS = 30_000;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

type Proc = Partial<ProcessRecord> & Pick<ProcessRecord, "pid" | "comm">;

function proc(p: Proc): ProcessRecord {
  return makeProcess({ start_time: NOW - 86_400_000, user: "mysql", cmdline: p.comm, cpu_pct: 0, rss_bytes: 0, ...p });
}

export function fleetReport(host: string, time: number, seq: number, processes: Proc[], rest: Partial<RestRecord>, fsUsedPct = 40): Report {
  const total = 100 * GiB;
  return {
    v: 1,
    id: `${host}-boot-${seq}`,
    host,
    agent_version: "0.1.0",
    time,
    interval_ms: INTERVAL_MS,
    system: {
      cpu: { count: 8, load1: 2.5, load5: 2, load15: 1.5, user_pct: 30, system_pct: 10, idle_pct: 55, iowait_pct: 5, steal_pct: 0 },
      memory: { total_bytes: 64 * GiB, used_bytes: 48 * GiB, available_bytes: 16 * GiB, swap_total_bytes: 0, swap_used_bytes: 0 },
      filesystems: [
        { device: "/dev/sda1", mount: "/", fstype: "ext4", total_bytes: 50 * GiB, used_bytes: 10 * GiB, free_bytes: 40 * GiB },
        { device: "/dev/sdb1", mount: "/data", fstype: "xfs", total_bytes: total, used_bytes: (total * fsUsedPct) / 100, free_bytes: (total * (100 - fsUsedPct)) / 100 },
      ],
      disks: [{ device: "sdb", read_bytes_per_s: 20 * MiB, write_bytes_per_s: 5 * MiB, util_pct: 60, avgqu: 2 }],
      interfaces: [
        { name: "lo", rx_bytes_per_s: 999 * MiB, tx_bytes_per_s: 999 * MiB, speed_mbps: null },
        { name: "eth0", rx_bytes_per_s: 12 * MiB, tx_bytes_per_s: 3 * MiB, speed_mbps: 10000 },
      ],
    },
    processes: processes.map(proc),
    rest: { count: 120, cpu_pct: 0, rss_bytes: 0, read_bytes_per_s: 0, write_bytes_per_s: 0, net_rx_bytes_per_s: 0, net_tx_bytes_per_s: 0, ...rest },
    connections: [{ pid: 1001, local: "10.0.0.1:3306", remote: "10.0.0.9:51000", rx_bytes_per_s: 11 * MiB, tx_bytes_per_s: 2 * MiB }],
    listen_ports: [{ port: 3306, pid: 1001, connections: 12, rx_bytes_per_s: 11 * MiB, tx_bytes_per_s: 2 * MiB }],
    unattributed: [{ interface: "eth0", rx_bytes_per_s: 1 * MiB, tx_bytes_per_s: 0.5 * MiB }],
    capabilities: {},
    collector_errors: {},
  };
}

// db1 at every sample: two MySQL instances, a backup doing IO, 120 small processes in `rest`.
const DB1: Proc[] = [
  { pid: 1001, comm: "mysqld", cmdline: "/usr/sbin/mysqld --defaults-file=/etc/my3306.cnf --port=3306", instance: "3306", cpu_pct: 250, rss_bytes: 24 * GiB, read_bytes_per_s: 8 * MiB, write_bytes_per_s: 4 * MiB, net_rx_bytes_per_s: 11 * MiB, net_tx_bytes_per_s: 2 * MiB },
  { pid: 1002, comm: "mysqld", cmdline: "/usr/sbin/mysqld --defaults-file=/etc/my3307.cnf --port=3307", instance: "3307", cpu_pct: 100, rss_bytes: 8 * GiB, read_bytes_per_s: 1 * MiB, write_bytes_per_s: 1 * MiB },
  { pid: 2001, comm: "xtrabackup", cmdline: "xtrabackup --backup --target-dir=/backup", user: "root", cpu_pct: 40, rss_bytes: 1 * GiB, read_bytes_per_s: 30 * MiB, write_bytes_per_s: 30 * MiB },
];
const DB1_REST = { cpu_pct: 10, rss_bytes: 3 * GiB, read_bytes_per_s: 1 * MiB, write_bytes_per_s: 1 * MiB, net_rx_bytes_per_s: 1 * MiB, net_tx_bytes_per_s: 1 * MiB };

/**
 * Writes the fleet:
 *  db1  running, reports every 30 s up to NOW-10s; from NOW-5min on, pid 1002 is replaced by pid 1003 (a restart)
 *  db2  running but silent: its last report is at NOW-10min
 *  web1 pending (istate 1), never reported
 *  old1 removed (istate -1)
 *  bad1 failed: istate 1 with a deploy error
 */
export async function writeFleet(db: Db): Promise<void> {
  const created = NOW - 3_600_000;
  for (const [host, istate] of [["db1", 2], ["db2", 2], ["web1", 1], ["old1", -1], ["bad1", 1]] as const) {
    await registerHost(db, host, { secretHash: "0".repeat(64), istate }, created);
  }
  await setHostState(db, "bad1", 1, { deploy_failures: 3, deploy_error: "ssh: connect to host bad1 port 22: Connection refused" }, created);

  const items: { report: Report; receivedAt: number }[] = [];
  // db1: 20 samples, NOW-10s back every 30 s
  for (let i = 0; i < 20; i++) {
    const t = NOW - 10_000 - i * INTERVAL_MS;
    const restarted = t >= NOW - 300_000;
    const procs = DB1.map((p) => (p.pid === 1002 && restarted ? { ...p, pid: 1003, start_time: NOW - 300_000 } : p));
    items.push({ report: fleetReport("db1", t, 100 - i, procs, DB1_REST, 93), receivedAt: t + 200 });
  }
  // db2: 6 samples ending at NOW-10min; a Java service that burns CPU
  for (let i = 0; i < 6; i++) {
    const t = NOW - 600_000 - i * INTERVAL_MS;
    const procs: Proc[] = [{ pid: 3001, comm: "java", cmdline: "java -jar /opt/app/billing.jar", user: "app", instance: "8080", cpu_pct: 300, rss_bytes: 12 * GiB, net_rx_bytes_per_s: 20 * MiB, net_tx_bytes_per_s: 40 * MiB }];
    items.push({ report: fleetReport("db2", t, 50 - i, procs, { cpu_pct: 100, rss_bytes: 4 * GiB }), receivedAt: t + 300 });
  }
  await writeReports(db, items);
  for (const it of items) {
    await recordReportSeen(db, it.report.host, { receivedAt: it.receivedAt, agentTime: it.report.time, agentVersion: it.report.agent_version, clockSkewMs: -200 });
  }
}
