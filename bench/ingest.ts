// Ingest benchmark: 200 simulated agents post realistic reports (bench/ingest-db.ts typicalReport:
// 12 kept processes, 3 filesystems, 3 disks, 4 connections, ...) as fast as a compiled `pmon server`
// takes them, into MariaDB on this machine; next to it, MariaDB's own multi-row INSERT rate for the
// same rows (rawInsertRate), the ratio, and bytes on disk per host per day.
//   make build && bun run bench/ingest.ts        (BENCH_AGENTS, BENCH_ROUNDS, PMON_BIN to change)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postReport } from "../src/client/api.ts";
import { registerHostWithSecret } from "../src/fleet/register.ts";
import { openDb } from "../src/store/db.ts";
import { reportRows } from "../src/store/reports.ts";
import { migrate } from "../src/store/migrate.ts";
import { requireBinary } from "../test/helpers/binary.ts";
import { testMariaDB } from "../test/helpers/mariadb.ts";
import { enrollNoDeploy, freePort, replyKeyEnv, startServer, waitHttp } from "../test/helpers/server/procs.ts";
import { createPublicKey } from "node:crypto";
import { readAgentKey } from "../src/keys/agent-key.ts";
import { loadReplyKey } from "../src/keys/reply-key.ts";
import { mysqlBytes, rawInsertRate, typicalReport } from "./ingest-db.ts";

const AGENTS = Number(process.env.BENCH_AGENTS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const REPORTS_PER_HOST_PER_DAY = 2880; // one every 30 s

function rowsPerReport(r: ReturnType<typeof typicalReport>): number {
  const rows = reportRows(r, r.time);
  // the dictionary row is written once per distinct command line, not per report
  return Object.entries(rows).reduce((n, [k, v]) => n + (k === "process_info" ? 0 : v.length), 0) + 1; // + report_seen
}

async function main(): Promise<void> {
  requireBinary();
  const dir = mkdtempSync(join(tmpdir(), "pmon-bench-ingest-"));
  const serverDb = await testMariaDB("bench_server");
  const rawDbs = [await testMariaDB("bench_raw_before"), await testMariaDB("bench_raw_after")];
  try {
    // the schema first, then the hosts (one enroll through the binary proves the path; the rest directly)
    // MariaDB's own rate for the same rows (the store engineer's raw multi-row INSERT), measured before
    // and after the server run and averaged: this machine is shared, so one measurement can be off.
    const measureRaw = async (i: number, reports: ReturnType<typeof typicalReport>[]) => {
      const raw = openDb(rawDbs[i]!.url);
      await migrate(raw);
      await raw.close();
      return rawInsertRate(rawDbs[i]!.url, reports, 250);
    };
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    // reports are posted back to back here, far above an agent's pace: lift the per-host rate limit
    const server = startServer(dir, serverDb.url, port, "server", { PMON_LOG_LEVEL: "warn", PMON_SERVER_HOST_REPORTS_PER_S: "100000" });
    await waitHttp(url);
    const db = openDb(serverDb.url);
    const hosts = Array.from({ length: AGENTS }, (_, i) => `bench-${String(i).padStart(3, "0")}`);
    const secrets = new Map<string, string>();
    if ((await enrollNoDeploy(dir, serverDb.url, hosts[0]!, join(dir, "h0.secret"))) !== 0) throw new Error("enroll --no-deploy failed");
    secrets.set(hosts[0]!, readAgentKey(join(dir, "h0.secret")).privateKeyPem);
    for (const h of hosts.slice(1)) secrets.set(h, await registerHostWithSecret(db, h));

    const serverKeys = [createPublicKey(loadReplyKey(replyKeyEnv(dir).PMON_SERVER_REPLY_KEY_FILE!, { create: true }).privateKey)];
    // reports prepared up front: the agents' JSON work is not what is measured
    const start = Date.now() - ROUNDS * 30_000;
    const plan = hosts.map((h, hi) =>
      Array.from({ length: ROUNDS }, (_, r) => {
        const report = typicalReport(h, start + r * 30_000 + hi, r + 1);
        return { report, json: JSON.stringify(report) };
      }),
    );
    const perReport = rowsPerReport(plan[0]![0]!.report);
    const rawBefore = await measureRaw(0, plan.flat().map((p) => p.report));
    const bytes = plan[0]![0]!.json.length;

    let failures = 0;
    const t0 = performance.now();
    await Promise.all(
      plan.map(async (series, hi) => {
        for (const { json } of series) {
          const res = await postReport(url, { secret: secrets.get(hosts[hi]!)!, serverKeys, host: hosts[hi]!, json, timeMs: Date.now(), timeoutMs: 60_000 });
          if (res.kind !== "delivered") failures++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const total = AGENTS * ROUNDS;
    const stored = Number((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_info"))[0]!.n);
    const serverRate = { reportsPerS: total / seconds, rowsPerS: (total * perReport) / seconds };
    const metrics = await (await fetch(url + "/metrics")).text();
    const metric = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(metrics)?.[1] ?? NaN);
    const batches = metric("pmon_store_write_seconds_count");
    const writeSeconds = metric("pmon_store_write_seconds_sum");
    const size = await mysqlBytes(db);
    await db.close();
    server.proc.kill("SIGTERM");
    await server.exited;

    const rawAfter = await measureRaw(1, plan.flat().map((p) => p.report));
    const rawRate = {
      reportsPerS: (rawBefore.reportsPerS + rawAfter.reportsPerS) / 2,
      rowsPerS: (rawBefore.rowsPerS + rawAfter.rowsPerS) / 2,
    };

    // compared per report: the raw rate counts the command-line dictionary rows the server writes once
    const pct = (serverRate.reportsPerS / rawRate.reportsPerS) * 100;
    console.log(`ingest: ${AGENTS} agents × ${ROUNDS} reports (${bytes} bytes JSON, ${perReport} rows each), compiled pmon server → MariaDB`);
    console.log(`  server:        ${serverRate.reportsPerS.toFixed(0)} reports/s, ${serverRate.rowsPerS.toFixed(0)} rows/s (${seconds.toFixed(2)} s, ${failures} not delivered, ${stored} stored)`);
    console.log(`  batches:       ${batches} writeReports calls, ${(total / batches).toFixed(1)} reports each, ${((writeSeconds / batches) * 1000).toFixed(1)} ms each, ${((writeSeconds / seconds) * 100).toFixed(0)} % of the wall time in writeReports`);
    console.log(`  raw INSERT:    ${rawRate.reportsPerS.toFixed(0)} reports/s, ${rawRate.rowsPerS.toFixed(0)} rows/s (same reports, batches of 250; before ${rawBefore.reportsPerS.toFixed(0)}, after ${rawAfter.reportsPerS.toFixed(0)} reports/s)`);
    console.log(`  server / raw:  ${pct.toFixed(0)} % of MariaDB's own rate, in reports/s (target ≥ 60 %)`);
    console.log(`  disk: ${(size.total / 1e6).toFixed(1)} MB for ${stored} reports → ${((size.total / Math.max(1, stored)) * REPORTS_PER_HOST_PER_DAY / 1e6).toFixed(2)} MB per host per day at 30 s (MariaDB data+index)`);
    if (failures > 0 || stored !== total) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  await main();
  process.exit(process.exitCode ?? 0);
}
