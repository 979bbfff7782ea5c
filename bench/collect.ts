// Cost of process collection, at this machine's normal size and with 3,000 extra idle processes:
//   - warm collector: repeated collect() calls in one agent process (median of >= 10), CPU and wall ms
//   - one whole `pmon agent --once` run of the compiled binary (startup + 2 scans), CPU, wall, peak RSS
//   - bench/reader.c, a minimal C reader of the same per-process files, and the ratio pmon / C
// Targets: warm collection at 3,000 processes <= 1.3x the C reader's CPU; agent RSS < 64 MB.
// Run: bun run bench/collect.ts (make bench builds dist/pmon first; PMON_BIN overrides).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createCollector } from "../src/collect/collector.ts";
import { createLogger } from "../src/log.ts";
import { createProcFs } from "../src/procfs/fs.ts";

const EXTRA_PROCESSES = 3000;
const WARM_RUNS = 15;
const ONCE_RUNS = 5;
const TARGET_RATIO = 1.3;
const TARGET_RSS_MB = 64;

interface Cost {
  processes: number;
  cpuMs: number;
  wallMs: number;
  maxRssMb: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// --- child mode: the warm collector measured in a process of its own, so its RSS is the agent's ---
if (process.argv[2] === "--warm-child") {
  const runs = Number(process.argv[3]);
  const c = createCollector({
    proc: createProcFs("/proc"),
    sysRoot: "/sys",
    host: "bench",
    agentVersion: "bench",
    mounts: [],
    topN: 10,
    thresholds: { process_cpu_pct: 200, process_mem_gib: 5, disk_io_mib_s: 10, net_mib_s: 10 },
    log: createLogger("silent"),
  });
  c.collect();
  await Bun.sleep(50);
  const cpu: number[] = [];
  const wall: number[] = [];
  let processes = 0;
  for (let i = 0; i < runs; i++) {
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    const r = c.collect();
    wall.push(performance.now() - t0);
    const u = process.cpuUsage(u0);
    cpu.push((u.user + u.system) / 1000);
    processes = (r?.processes.length ?? 0) + (r?.rest.count ?? 0);
    await Bun.sleep(10); // the kernel's clock must move between collections
  }
  // VmHWM: this process's own peak (ru_maxrss would include the parent's, see reader.c "rusage")
  const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
  console.log(JSON.stringify({ processes, cpuMs: median(cpu), wallMs: median(wall), maxRssMb: hwmKb / 1024 }));
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), "pmon-bench-collect-"));
const reader = join(work, "reader");
// an empty config file keeps this machine's /etc/pmon/pmon.toml out of the measurement
const emptyConfig = join(work, "empty.toml");
writeFileSync(emptyConfig, "");
const pmon = resolve(process.env.PMON_BIN ?? join(import.meta.dir, "../dist/pmon"));
let forker: Bun.Subprocess | undefined;
const cleanup = () => {
  forker?.kill("SIGKILL"); // its children die with it (PR_SET_PDEATHSIG)
  forker = undefined;
  rmSync(work, { recursive: true, force: true });
};
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));

function run(cmd: string[]): string {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${p.exitCode}): ${p.stderr.toString()}`);
  return p.stdout.toString();
}

function warm(): Cost {
  return JSON.parse(run([process.execPath, import.meta.path, "--warm-child", String(WARM_RUNS)]));
}

function cReader(): Cost {
  const r = JSON.parse(run([reader, "rusage", reader, "collect", String(WARM_RUNS)]));
  return { processes: r.processes, cpuMs: r.cpu_ms, wallMs: r.wall_ms, maxRssMb: r.max_rss_kb / 1024 };
}

async function once(): Promise<Cost> {
  const cpu: number[] = [];
  const wall: number[] = [];
  let rss = 0;
  let processes = 0;
  for (let i = 0; i < ONCE_RUNS; i++) {
    const p = Bun.spawnSync([reader, "rusage", pmon, "agent", "--config", emptyConfig, "--once", "--json", "--sample-ms", "100", "--log-level", "error"], { stdout: "pipe", stderr: "pipe" });
    const usage = JSON.parse(p.stderr.toString().trim().split("\n").at(-1)!);
    if (usage.exit !== 0) throw new Error(`pmon agent --once exited ${usage.exit}: ${p.stderr.toString()}`);
    cpu.push(usage.cpu_ms);
    // the 100 ms sample window is sleep, not work: leave it out of the wall time
    wall.push(usage.wall_ms - 100);
    rss = Math.max(rss, usage.max_rss_kb / 1024);
    const r = JSON.parse(p.stdout.toString());
    processes = r.processes.length + r.rest.count;
  }
  return { processes, cpuMs: median(cpu), wallMs: median(wall), maxRssMb: rss };
}

function row(name: string, c: Cost): string {
  return `${name.padEnd(34)} ${String(c.processes).padStart(6)} ${c.cpuMs.toFixed(1).padStart(9)} ${c.wallMs.toFixed(1).padStart(9)} ${c.maxRssMb.toFixed(1).padStart(9)}`;
}

async function measure(label: string): Promise<{ warm: Cost; c: Cost; once: Cost }> {
  const w = warm();
  const c = cReader();
  const o = await once();
  console.log(`\n${label}`);
  console.log(`${"".padEnd(34)} ${"procs".padStart(6)} ${"CPU ms".padStart(9)} ${"wall ms".padStart(9)} ${"RSS MB".padStart(9)}`);
  console.log(row("pmon warm collect() (median)", w));
  console.log(row("pmon agent --once (whole run)", o));
  console.log(row("C reader, same files (mean)", c));
  console.log(`pmon warm / C CPU: ${(w.cpuMs / c.cpuMs).toFixed(2)}x`);
  return { warm: w, c, once: o };
}

run(["cc", "-O2", "-o", reader, join(import.meta.dir, "reader.c")]);
console.log(`collect bench: ${WARM_RUNS} warm collections, ${ONCE_RUNS} --once runs of ${pmon}`);
await measure("normal size (this machine as it is)");

forker = Bun.spawn([reader, "fork", String(EXTRA_PROCESSES)], { stdout: "ignore", stderr: "inherit" });
// wait until all children exist
const deadline = Date.now() + 120_000;
for (;;) {
  const kids = run(["sh", "-c", `cat /proc/${forker.pid}/task/*/children 2>/dev/null | wc -w`]).trim();
  if (Number(kids) >= EXTRA_PROCESSES) break;
  if (Date.now() > deadline) throw new Error(`only ${kids} of ${EXTRA_PROCESSES} idle processes after 120 s`);
  await Bun.sleep(100);
}
const big = await measure(`with ${EXTRA_PROCESSES} extra idle processes`);
const ratio = big.warm.cpuMs / big.c.cpuMs;
console.log(`\ntarget: warm collection <= ${TARGET_RATIO}x C CPU at ${EXTRA_PROCESSES} processes: ${ratio.toFixed(2)}x ${ratio <= TARGET_RATIO ? "MET" : "NOT MET"}`);
const rss = Math.max(big.warm.maxRssMb, big.once.maxRssMb);
console.log(`target: agent RSS < ${TARGET_RSS_MB} MB: ${rss.toFixed(1)} MB peak (warm ${big.warm.maxRssMb.toFixed(1)}, --once ${big.once.maxRssMb.toFixed(1)}) ${rss < TARGET_RSS_MB ? "MET" : "NOT MET"}`);
await stopIdleProcesses();
cleanup();
process.exit(0);

/** Kills the forker and waits until its children are really gone, so no later bench sees them. */
async function stopIdleProcesses(): Promise<void> {
  if (!forker) return;
  const kids = run(["sh", "-c", `cat /proc/${forker.pid}/task/*/children 2>/dev/null`]).trim().split(/\s+/).filter(Boolean);
  forker.kill("SIGKILL");
  forker = undefined;
  const deadline = Date.now() + 60_000;
  while (kids.some((pid) => existsSync(`/proc/${pid}/stat`)) && Date.now() < deadline) await Bun.sleep(100);
}
