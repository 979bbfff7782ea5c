// Cost of exit accounting per collection round with N processes ending in the round:
//   - a round = prime, a shell spawns and reaps N short processes (/bin/true), collect; the agent's whole CPU
//     over the round is measured (collect() plus the once-a-second drains of the taskstats socket that run
//     while the processes come and go), median of ROUNDS rounds
//   - modes: taskstats, the /proc fallback, no exit accounting at all (the baseline); N = 0 and N = 1,000
//     (1,000 per 30 s interval is a busy cron/CI host)
//   - and the pure parts on built records: parsing N taskstats messages, accounting N exits
// Needs root in the initial namespaces for the taskstats rows. Run: bun run bench/exits.ts
import { createCollector, type Collector } from "../src/collect/collector.ts";
import { createExitSource, ExitAccounting, type ExitSource } from "../src/collect/exits.ts";
import { createLogger } from "../src/log.ts";
import { parseTaskExit, type TaskExit } from "../src/net/taskstats.ts";
import { createProcFs } from "../src/procfs/fs.ts";

const ROUNDS = 3;
const BURST = 1000;
const log = createLogger("silent");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function collector(exits: ExitSource | undefined): Collector {
  return createCollector({
    proc: createProcFs("/proc"),
    sysRoot: "/sys",
    host: "bench",
    agentVersion: "bench",
    mounts: [],
    topN: 10,
    thresholds: { process_cpu_pct: 200, process_mem_gib: 5, disk_io_mib_s: 10, net_mib_s: 10 },
    log,
    exits,
    gcAfterCollect: false, // the same in every mode; GC cost is bench/collect.ts's business
  });
}

/** Counts the records a source hands over (the host's other processes end too). */
function counted(source: ExitSource | undefined): { source: ExitSource | undefined; records: () => number } {
  let n = 0;
  if (!source) return { source, records: () => 0 };
  return {
    source: {
      ...source,
      drain() {
        const d = source.drain();
        n += d?.exits.length ?? 0;
        return d;
      },
    },
    records: () => n,
  };
}

async function round(c: Collector, n: number, records: () => number): Promise<{ cpuMs: number; collectMs: number; exited: number; records: number }> {
  c.collect();
  const r0 = records();
  const u0 = process.cpuUsage();
  const burst = Bun.spawn(["sh", "-c", `i=0; while [ $i -lt ${n} ]; do /bin/true; i=$((i+1)); done`], { stdio: ["ignore", "ignore", "inherit"] });
  await burst.exited;
  await Bun.sleep(1100); // one background drain of the socket happens inside the round, as in an agent
  const c0 = process.cpuUsage();
  const r = c.collect();
  const c1 = process.cpuUsage(c0);
  const u = process.cpuUsage(u0);
  return { cpuMs: (u.user + u.system) / 1000, collectMs: (c1.user + c1.system) / 1000, exited: r?.processes.filter((p) => p.exited).length ?? 0, records: records() - r0 };
}

async function mode(name: string, open: () => ExitSource | undefined, n: number): Promise<void> {
  const { source, records } = counted(open());
  const c = collector(source);
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(c, n, records));
  c.close();
  console.log(
    `${name.padEnd(12)} N=${String(n).padStart(4)}: agent CPU per round ${median(rounds.map((r) => r.cpuMs)).toFixed(1)} ms ` +
      `(collect() ${median(rounds.map((r) => r.collectMs)).toFixed(1)} ms), exit records ${median(rounds.map((r) => r.records))}, exited processes kept ${median(rounds.map((r) => r.exited))}`,
  );
}

// --- the pure parts on built records ---

function builtMessage(pid: number): Uint8Array {
  const stats = Buffer.alloc(560);
  stats.writeUInt16LE(16, 0);
  stats[8] = 0x20;
  stats.write("true", 80);
  stats.writeUInt32LE(pid, 128);
  stats.writeUInt32LE(1, 132);
  stats.writeUInt32LE(pid, 368);
  const attr = (type: number, v: Buffer) => {
    const b = Buffer.alloc((4 + v.length + 3) & ~3);
    b.writeUInt16LE(4 + v.length, 0);
    b.writeUInt16LE(type, 2);
    v.copy(b, 4);
    return b;
  };
  const pidBuf = Buffer.alloc(4);
  pidBuf.writeUInt32LE(pid);
  return Buffer.concat([Buffer.from([2, 1, 0, 0]), attr(4, Buffer.concat([attr(1, pidBuf), attr(3, stats)]))]);
}

function pureParts(n: number): void {
  const msgs = Array.from({ length: n }, (_, i) => builtMessage(100_000 + i));
  const parseMs: number[] = [];
  const accountMs: number[] = [];
  for (let k = 0; k < 10; k++) {
    const t0 = performance.now();
    const exits = msgs.map((m) => parseTaskExit(m)!) as TaskExit[];
    parseMs.push(performance.now() - t0);
    const acc = new ExitAccounting({ drain: () => null, capabilities: {}, close() {} });
    const t1 = performance.now();
    acc.accountExits(exits, { fs: createProcFs("/proc"), scan: { processes: [], states: new Map() }, prevStates: new Map(), btime: 0, dtSec: 30, errors: {} });
    accountMs.push(performance.now() - t1);
  }
  console.log(`pure, N=${n}: parse ${median(parseMs).toFixed(2)} ms, accounting ${median(accountMs).toFixed(2)} ms (median of 10)`);
}

pureParts(BURST);
const probe = createExitSource("/proc", log);
const haveTaskstats = probe?.capabilities.taskstats === true;
probe?.close();
if (!haveTaskstats) console.log("taskstats is not available here (needs root in the initial namespaces): no taskstats rows");
for (const n of [0, BURST]) {
  await mode("none", () => undefined, n);
  await mode("proc_threads", () => ({ drain: () => null, capabilities: {}, close() {} }), n);
  if (haveTaskstats) await mode("taskstats", () => createExitSource("/proc", log), n);
}
