// Fleet simulation: N simulated agents, each its own host and key, post realistic reports (24-60 rows:
// the typical, busy and large host shapes below) every 30 s with jitter, to BENCH_SERVERS compiled
// `pmon server`s sharing one MariaDB, all on this machine. Prints accept latency (p50/p99/max, from the
// moment a report was due), loss and duplicates (counted in the database), and CPU seconds per report of
// each component (server(s), MariaDB, this simulator) from /proc/PID/stat. SILENT_HOSTS of the agents stop
// early in the window: each must raise exactly one "not reporting" alert however many servers share the
// database (alerts go to a local webhook receiver).
//   make build && bun run bench/fleet.ts
//   BENCH_HOSTS (default 10000), BENCH_SECONDS (measured window, default 300), BENCH_SERVERS (1 or 2),
//   BENCH_WARMUP_S (default 30: the first interval, when every agent sends its first report, is not measured)
// Loopback only; the number of requests in flight is bounded (MAX_IN_FLIGHT).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postReport } from "../src/client/api.ts";
import { registerHostWithSecret } from "../src/fleet/register.ts";
import { openDb } from "../src/store/db.ts";
import { reportRows } from "../src/store/reports.ts";
import { migrate } from "../src/store/migrate.ts";
import { requireBinary } from "../test/helpers/binary.ts";
import { testMariaDB } from "../test/helpers/mariadb.ts";
import { startReceiver } from "../test/helpers/alerts/receiver.ts";
import { enrollNoDeploy, freePort, replyKeyEnv, spawnPmon, waitHttp, type Proc } from "../test/helpers/server/procs.ts";
import { createPublicKey } from "node:crypto";
import { readAgentKey } from "../src/keys/agent-key.ts";
import { loadReplyKey } from "../src/keys/reply-key.ts";
import { BUSY, TYPICAL, typicalReport, type HostProfile } from "./ingest-db.ts";

const HOSTS = Number(process.env.BENCH_HOSTS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 300);
const SERVERS = Number(process.env.BENCH_SERVERS ?? 1);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 30);
const INTERVAL_MS = 30_000;
/** each report is due at its host's phase + k × 30 s, moved by up to ± JITTER_MS */
const JITTER_MS = 1000;
const MAX_IN_FLIGHT = 512;
const TIMEOUT_MS = 15_000;
const TARGET_P99_MS = 1000;
/** agents that stop reporting SILENT_STOP_S into the window, and the servers' silent_after_s */
const SILENT_HOSTS = 20;
const SILENT_STOP_S = 10;
const SILENT_AFTER_S = 60;

/** The top end of realistic: a busy host with 24 connections over the threshold. */
const LARGE: HostProfile = { ...BUSY, connections: 24 };
/** 60 % typical, 30 % busy, 10 % large hosts */
function profileOf(i: number): HostProfile {
  const k = i % 10;
  return k < 6 ? TYPICAL : k < 9 ? BUSY : LARGE;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  requireBinary();
  const dir = mkdtempSync(join(tmpdir(), "pmon-bench-fleet-"));
  const maria = await testMariaDB("bench_fleet");
  const mariaPid = Number(readFileSync(join(maria.dataDir, "mysqld.pid"), "utf8").trim());
  const servers: Proc[] = [];
  const receiver = startReceiver();
  try {
    const db = openDb(maria.url);
    await migrate(db);
    const urls: string[] = [];
    // the fleet reply key, made once before the servers start (they would each make their own)
    const serverKeys = [createPublicKey(loadReplyKey(replyKeyEnv(dir).PMON_SERVER_REPLY_KEY_FILE!, { create: true }).privateKey)];
    for (let s = 0; s < SERVERS; s++) {
      const port = freePort();
      const config = join(dir, `server${s}.toml`);
      writeFileSync(
        config,
        `[server]\nlisten = "127.0.0.1:${port}"\nstorage = "${maria.url}"\ndata_dir = "${join(dir, `server${s}`)}"\n\n` +
          `[alerts]\nlanguage = "en"\nsilent_after_s = ${SILENT_AFTER_S}\ncheck_every_s = 2\n\n[[alerts.channels]]\ntype = "webhook"\nurl = "${receiver.url}/hook"\n`,
      );
      // every server holds the same fleet reply key, as the operator would copy it
      servers.push(spawnPmon(["server", "--config", config], join(dir, `server${s}.log`), { PMON_LOG_LEVEL: "warn", ...replyKeyEnv(dir) }));
      urls.push(`http://127.0.0.1:${port}`);
    }
    for (const u of urls) await waitHttp(u, 60_000);

    // hosts: one through `pmon enroll --no-deploy` (the real path), the rest through the same store function
    const hosts = Array.from({ length: HOSTS }, (_, i) => `sim-${String(i).padStart(5, "0")}`);
    const secrets: string[] = new Array(HOSTS);
    const t0 = performance.now();
    if ((await enrollNoDeploy(dir, maria.url, hosts[0]!, join(dir, "h0.secret"))) !== 0) throw new Error("enroll --no-deploy failed");
    secrets[0] = readAgentKey(join(dir, "h0.secret")).privateKeyPem;
    for (let i = 1; i < HOSTS; i += 64) {
      await Promise.all(hosts.slice(i, i + 64).map(async (h, k) => (secrets[i + k] = await registerHostWithSecret(db, h))));
    }
    const rows = (p: HostProfile) => {
      const r = reportRows(typicalReport("x", Date.now(), 1, p), Date.now());
      return Object.entries(r).reduce((n, [k, v]) => n + (k === "process_info" ? 0 : v.length), 0) + 1; // + report_seen
    };
    console.log(`report shapes: typical ${rows(TYPICAL)}, busy ${rows(BUSY)}, large ${rows(LARGE)} rows (60/30/10 % of hosts)`);
    console.log(`fleet: ${HOSTS} hosts registered in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${SERVERS} server(s) → one MariaDB; load average ${loadAverage()}`);

    // --- the simulation ---
    const start = Date.now() + 1000;
    const warmEnd = start + WARMUP_S * 1000;
    const end = warmEnd + SECONDS * 1000;
    const phase = hosts.map(() => Math.random() * INTERVAL_MS);
    const seq = new Array<number>(HOSTS).fill(0);
    let inFlight = 0;
    const queue: { host: number; due: number }[] = [];
    const latencies: number[] = [];
    let sent = 0;
    let delivered = 0;
    let failed = 0;
    let processRows = 0;
    const failures = new Map<string, number>();
    let measuring = false;
    let cpu0: { servers: number[]; maria: number; sim: number } | undefined;
    let deliveredAtStart = 0;

    const send = async (h: number, due: number) => {
      inFlight++;
      sent++;
      try {
        const n = ++seq[h]!;
        const report = typicalReport(hosts[h]!, Date.now(), n, profileOf(h));
        report.id = `${hosts[h]}-${n}`;
        const res = await postReport(urls[h % urls.length]!, { secret: secrets[h]!, serverKeys, host: hosts[h]!, json: JSON.stringify(report), timeMs: Date.now(), timeoutMs: TIMEOUT_MS });
        const latency = Date.now() - due;
        if (res.kind === "delivered") {
          delivered++;
          processRows += report.processes.length;
          if (due >= warmEnd && due < end) latencies.push(latency);
        } else {
          failed++;
          const why = `${res.kind} ${res.status ?? ""} ${"code" in res ? res.code : ""}`;
          failures.set(why, (failures.get(why) ?? 0) + 1);
        }
      } catch (e) {
        failed++;
        failures.set(String(e), (failures.get(String(e)) ?? 0) + 1);
      }
      inFlight--;
      const next = queue.shift();
      if (next) void send(next.host, next.due);
    };
    const due = (h: number, k: number) => start + phase[h]! + k * INTERVAL_MS + (Math.random() * 2 - 1) * JITTER_MS;
    const silentFrom = HOSTS - SILENT_HOSTS;
    const silentStop = warmEnd + SILENT_STOP_S * 1000;
    const schedule = (h: number, k: number) => {
      const at = due(h, k);
      if (at >= end || (h >= silentFrom && at >= silentStop)) return;
      setTimeout(() => {
        if (inFlight < MAX_IN_FLIGHT) void send(h, at);
        else queue.push({ host: h, due: at });
        schedule(h, k + 1);
      }, Math.max(0, at - Date.now()));
    };
    for (let h = 0; h < HOSTS; h++) schedule(h, 0);

    // CPU is read at the edges of the measured window
    await Bun.sleep(warmEnd - Date.now());
    measuring = true;
    cpu0 = { servers: servers.map((s) => cpuSeconds(s.proc.pid)), maria: cpuSeconds(mariaPid), sim: cpuSeconds(process.pid) };
    deliveredAtStart = delivered;
    const loadStart = loadAverage();
    let lastPrint = Date.now();
    while (Date.now() < end) {
      await Bun.sleep(Math.min(10_000, end - Date.now()));
      if (Date.now() - lastPrint >= 60_000) {
        lastPrint = Date.now();
        const s = [...latencies].sort((a, b) => a - b);
        console.log(`  ${Math.round((Date.now() - warmEnd) / 1000)} s: ${delivered} delivered, ${failed} failed, ${inFlight} in flight, ${queue.length} queued, p99 ${percentile(s, 99).toFixed(0)} ms, load ${loadAverage()}`);
      }
    }
    const cpu1 = { servers: servers.map((s) => cpuSeconds(s.proc.pid)), maria: cpuSeconds(mariaPid), sim: cpuSeconds(process.pid) };
    const inWindow = delivered - deliveredAtStart;
    const loadEnd = loadAverage();
    // the silent hosts' alerts: due SILENT_AFTER_S after their last report (before the window's end when it
    // is long enough); a short window waits for them here
    const silentHosts = hosts.slice(silentFrom);
    const alertsFor = (h: string) => receiver.posts.filter((p) => JSON.stringify(p.body).includes("host not reporting") && JSON.stringify(p.body).includes(`${h} `));
    const alertDeadline = silentStop + (SILENT_AFTER_S + 30) * 1000;
    while (Date.now() < alertDeadline && !silentHosts.every((h) => alertsFor(h).length > 0)) await Bun.sleep(500);
    await Bun.sleep(5000); // a second server's duplicate, if any, would arrive now
    // let what is in flight finish
    const drainDeadline = Date.now() + TIMEOUT_MS + 5000;
    while ((inFlight > 0 || queue.length > 0) && Date.now() < drainDeadline) await Bun.sleep(100);
    void measuring;

    // --- what the database holds ---
    const count = async (sql: string) => Number((await db.query<{ n: number }>(sql))[0]!.n);
    const seen = await count("SELECT COUNT(*) AS n FROM tb_monitor_report_seen");
    const hostRows = await count("SELECT COUNT(*) AS n FROM tb_monitor_host_info");
    const distinctHostRows = await count("SELECT COUNT(*) AS n FROM (SELECT DISTINCT rshost, a_time FROM tb_monitor_host_info) d");
    const procRows = await count("SELECT COUNT(*) AS n FROM tb_monitor_process_io_info");
    let duplicates = 0;
    for (const u of urls) {
      const m = await (await fetch(`${u}/metrics`)).text();
      duplicates += Number(/^pmon_reports_duplicate_total(?:\{[^}]*\})? ([0-9.e+]+)$/m.exec(m)?.[1] ?? 0);
    }
    await db.close();

    const sorted = latencies.sort((a, b) => a - b);
    const p99 = percentile(sorted, 99);
    const lost = delivered - seen;
    const perReport = (a: number, b: number) => ((b - a) / inWindow) * 1000;
    console.log(`\nfleet: ${HOSTS} simulated agents, 30 s ± ${JITTER_MS / 1000} s, ${SERVERS} server(s), ${SECONDS} s measured after ${WARMUP_S} s warm-up`);
    console.log(`  load average: ${loadStart} at the start of the window, ${loadEnd} at its end (2 cores, shared)`);
    console.log(`  offered ${(HOSTS / 30).toFixed(0)} reports/s; accepted ${(inWindow / SECONDS).toFixed(1)} reports/s in the window (${inWindow} reports)`);
    console.log(`  accept latency from due time: p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms (${sorted.length} reports)`);
    console.log(`  sent ${sent}, delivered ${delivered}, not delivered ${failed}${failures.size ? ` (${[...failures].map(([k, v]) => `${k}: ${v}`).join(", ")})` : ""}`);
    console.log(`  stored: ${seen} report ids, ${hostRows} host rows (${distinctHostRows} distinct), ${procRows} process rows (expected ${processRows}); lost ${lost}, duplicate accepts ${duplicates}, duplicate rows ${hostRows - distinctHostRows}`);
    console.log(`  CPU ms per report: ${servers.map((_, i) => `server${i} ${perReport(cpu0!.servers[i]!, cpu1.servers[i]!).toFixed(2)}`).join(", ")}, MariaDB ${perReport(cpu0!.maria, cpu1.maria).toFixed(2)}, simulator ${perReport(cpu0!.sim, cpu1.sim).toFixed(2)}`);
    const serverMs = cpu1.servers.reduce((a, b, i) => a + b - cpu0!.servers[i]!, 0) / inWindow * 1000;
    const mariaMs = perReport(cpu0!.maria, cpu1.maria);
    console.log(`  → one core runs ${(1000 / serverMs).toFixed(0)} reports/s of pmon server, ${(1000 / mariaMs).toFixed(0)} reports/s of MariaDB (extrapolated from the CPU per report)`);
    const silentCounts = silentHosts.map((h) => alertsFor(h).length);
    const otherSilent = receiver.posts.filter((p) => JSON.stringify(p.body).includes("host not reporting")).length - silentCounts.reduce((a, b) => a + b, 0);
    const alertsOnce = silentCounts.every((n) => n === 1) && otherSilent === 0;
    console.log(`  alerts: ${SILENT_HOSTS} hosts went silent: ${silentCounts.filter((n) => n === 1).length} alerted once, ${silentCounts.filter((n) => n === 0).length} not at all, ${silentCounts.filter((n) => n > 1).length} more than once; ${otherSilent} "not reporting" alerts for hosts that kept reporting (${receiver.posts.length} webhook posts in all)`);
    const ok = alertsOnce && p99 < TARGET_P99_MS && lost === 0 && duplicates === 0 && hostRows === distinctHostRows && failed === 0 && procRows === processRows;
    console.log(`target: ${HOSTS} hosts held for ${SECONDS} s with p99 < ${TARGET_P99_MS} ms, no loss, no duplicates: ${ok ? "MET" : "NOT MET"}`);
  } finally {
    await receiver.stop();
    for (const s of servers) s.proc.kill("SIGTERM");
    await Promise.all(servers.map((s) => s.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  await main();
  process.exit(0);
}
