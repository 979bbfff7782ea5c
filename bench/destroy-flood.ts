// What a TCP connection flood costs the agent: the compiled `pmon agent` reporting every 2 s to a compiled
// `pmon server` (SQLite), once on a quiet machine and once while test/helpers/net/tcp-flood.c opens and closes
// FLOOD_PER_S loopback connections per second (two destroy notifications each, one per side).
// Per report: the agent's CPU ms, and the agent's peak RSS (VmHWM) at the end.
// Run: bun run bench/destroy-flood.ts [CONNECTIONS_PER_S [PAYLOAD_BYTES]] (make build first; PMON_BIN overrides dist/pmon).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cpuMsOf, hwmMbOf, startReportingAgent } from "./reporting-agent.ts";

const FLOOD_PER_S = Number(process.argv[2] ?? 20_000);
// bytes the client sends on each connection before closing it: 0 is the cheap flood (the kernel filter drops
// its notifications); with a payload every close has bytes to credit
const PAYLOAD_BYTES = Number(process.argv[3] ?? 0);
const INTERVAL_S = 2;
const REPORTS = 10;

const pmon = resolve(process.env.PMON_BIN ?? join(import.meta.dir, "..", "dist", "pmon"));
const work = mkdtempSync(join(tmpdir(), "pmon-bench-flood-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const flooder = join(work, "tcp-flood");
const cc = Bun.spawnSync(["cc", "-O2", "-o", flooder, join(import.meta.dir, "..", "test", "helpers", "net", "tcp-flood.c")], { stderr: "pipe" });
if (cc.exitCode !== 0) throw new Error(`cc failed: ${cc.stderr.toString()}`);

interface Loop {
  cpuMsPerReport: number;
  sysMsPerReport: number;
  hwmMb: number;
  connectionsPerS: number;
}

async function loop(flood: boolean): Promise<Loop> {
  const dir = join(work, flood ? "flood" : "quiet");
  mkdirSync(dir);
  const r = await startReportingAgent({ pmon, dir, host: "bench-flood", intervalS: INTERVAL_S, slackMs: 60_000 });
  let flooding: Bun.Subprocess<"ignore", "pipe", "inherit"> | undefined;
  try {
    const a0 = await r.waitFor(2);
    const seconds = (REPORTS + 2) * INTERVAL_S;
    if (flood) flooding = Bun.spawn([flooder, String(FLOOD_PER_S), String(seconds), String(PAYLOAD_BYTES)], { stdout: "pipe", stderr: "inherit", stdin: "ignore" });
    const cpu0 = cpuMsOf(r.agent.pid);
    const a1 = await r.waitFor(a0 + REPORTS);
    const cpu1 = cpuMsOf(r.agent.pid);
    const hwmMb = hwmMbOf(r.agent.pid);
    let connectionsPerS = 0;
    if (flooding) {
      await flooding.exited;
      connectionsPerS = Number((await new Response(flooding.stdout).text()).trim()) / seconds;
    }
    const n = a1 - a0;
    return { cpuMsPerReport: (cpu1.user + cpu1.sys - cpu0.user - cpu0.sys) / n, sysMsPerReport: (cpu1.sys - cpu0.sys) / n, hwmMb, connectionsPerS };
  } finally {
    flooding?.kill("SIGKILL");
    await r.stop();
  }
}

const row = (name: string, l: Loop) =>
  `${name.padEnd(34)} ${l.cpuMsPerReport.toFixed(1).padStart(7)} ms CPU/report (${l.sysMsPerReport.toFixed(1)} in the kernel)  VmHWM ${l.hwmMb.toFixed(1).padStart(6)} MB`;
const quiet = await loop(false);
console.log(row("quiet machine", quiet));
const flooded = await loop(true);
console.log(row(`flood ${flooded.connectionsPerS.toFixed(0)} connections/s, ${PAYLOAD_BYTES} B each`, flooded));
