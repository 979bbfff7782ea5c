// Shared setup for the alert tests: a config with test channels, a migrated store (SQLite or the
// test MariaDB), and host rows made through the store's own functions.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import type { AlertChannel, ConfigKey, ResolvedConfig } from "../../../src/config/schema.ts";
import { openDb, type Db } from "../../../src/store/db.ts";
import { ISTATE, recordReportSeen, registerHost } from "../../../src/store/hosts.ts";
import { migrate } from "../../../src/store/schema.ts";
import { testMariaDB } from "../mariadb.ts";
import { PROTOCOL_VERSION, type Report } from "../../../src/protocol/report.ts";
import { VERSION } from "../../../src/version.ts";

const GiB = 1024 ** 3;

export function tempDir(prefix = "pmon-alerts-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Defaults plus `overrides`, with the given channels; never reads /etc/pmon or PMON_* variables. */
export function testConfig(overrides: Partial<Record<ConfigKey, unknown>>, channels: AlertChannel[]): ResolvedConfig {
  const file = join(tempDir(), "pmon.toml");
  writeFileSync(file, "");
  const c = loadConfig(file, { env: {}, overrides });
  return { ...c, alerts: { ...c.alerts, channels } };
}

export type Dialect = "sqlite" | "mysql";

/** A fresh migrated store; for SQLite `url` can be opened again (a second "server"). */
export async function freshStore(dialect: Dialect): Promise<{ db: Db; url: string }> {
  const url = dialect === "sqlite" ? `sqlite:${join(tempDir(), "pmon.db")}` : (await testMariaDB("pmon_alerts")).url;
  const db = openDb(url);
  await migrate(db);
  return { db, url };
}

export async function runningHost(db: Db, host: string, lastReportAt: number | null): Promise<void> {
  await registerHost(db, host, { secretHash: "0".repeat(64), istate: ISTATE.running });
  if (lastReportAt !== null) await reported(db, host, lastReportAt);
}

export async function reported(db: Db, host: string, at: number): Promise<void> {
  await recordReportSeen(db, host, { receivedAt: at, agentTime: at, agentVersion: "test" });
}

/** A valid report; `system` and `processes` can be replaced to drive the saturation rules. */
export function makeReport(host: string, id: string, time: number, over: Partial<Report> = {}): Report {
  return {
    v: PROTOCOL_VERSION,
    id,
    host,
    agent_version: VERSION,
    time,
    interval_ms: 1000,
    system: {
      cpu: { count: 2, load1: 0.1, load5: 0.1, load15: 0.1, user_pct: 5, system_pct: 3, idle_pct: 92, iowait_pct: 0, steal_pct: 0 },
      memory: { total_bytes: 8 * GiB, used_bytes: 2 * GiB, available_bytes: 6 * GiB, swap_total_bytes: 0, swap_used_bytes: 0 },
      filesystems: [{ device: "/dev/sda1", mount: "/", fstype: "ext4", total_bytes: 100 * GiB, used_bytes: 40 * GiB, free_bytes: 55 * GiB }],
      disks: [{ device: "sda", read_bytes_per_s: 1000, write_bytes_per_s: 2000, util_pct: 3, avgqu: 0.1 }],
      interfaces: [],
    },
    processes: [],
    rest: { count: 10, cpu_pct: 1, rss_bytes: GiB, read_bytes_per_s: 0, write_bytes_per_s: 0, net_rx_bytes_per_s: 0, net_tx_bytes_per_s: 0 },
    connections: [],
    listen_ports: [],
    unattributed: [],
    capabilities: {},
    collector_errors: {},
    ...over,
  };
}

export async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await Bun.sleep(25);
  }
}
