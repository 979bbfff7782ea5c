// Cost of the network collector with 2,000 TCP sockets on loopback (1,000 connections held by a child):
// CPU ms per collection for the socket dump and for the inode → pid mapping, measured separately, warm agent,
// median of 20. Targets: dump < 15 ms, mapping < 20 ms. Also shown: the mapping after 100 of the connections
// were replaced and moved bytes (new inodes to find), a cold map (the agent's first sample), and a whole sample.
// Run: bun run bench/network.ts
import { join } from "node:path";
import { createNetworkCollector } from "../src/collect/network.ts";
import { createLogger } from "../src/log.ts";
import type { DiagSocket } from "../src/net/inet-diag.ts";
import { SockDiag } from "../src/net/sock-diag.ts";
import { SocketOwners } from "../src/net/socket-owners.ts";
import { TrafficAccounting } from "../src/net/traffic-accounting.ts";

const CONNECTIONS = 1000;
const RUNS = 20;
const CHURN = 100;
const TARGET_DUMP_MS = 15;
const TARGET_MAP_MS = 20;

function cpuMs(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const d = process.cpuUsage(before);
  return (d.user + d.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The agent's mapping step, as src/collect/network.ts does it; returns its CPU ms. */
function mapStep(owners: SocketOwners, accounting: TrafficAccounting, sockets: DiagSocket[]): number {
  let map: ReadonlyMap<number, number> = new Map();
  const ms = cpuMs(() => {
    const needed = new Set<number>();
    for (const s of sockets) if (accounting.ownerNeeded(s)) needed.add(s.inode);
    map = owners.resolve(
      sockets.map((s) => s.inode),
      needed,
    );
  });
  accounting.next({ sockets, destroyed: [], owners: map, interfaceOf: () => null });
  return ms;
}

const holder = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", "hold-connections.ts"), String(CONNECTIONS)], {
  stdin: "pipe",
  stdout: "pipe",
  stderr: "inherit",
});
try {
  const reader = holder.stdout.getReader();
  let out = "";
  const waitFor = async (word: string) => {
    while (!out.includes(word)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`connection holder exited before "${word}"`);
      out += new TextDecoder().decode(value);
    }
    out = out.slice(out.indexOf(word) + word.length);
  };
  await waitFor("READY");

  const diag = SockDiag.open();
  const owners = new SocketOwners("/proc");
  const accounting = new TrafficAccounting();
  let sockets = diag.dumpTcp();
  const held = sockets.filter((s) => s.inode !== 0).length;
  const coldMap: number[] = [];
  for (let i = 0; i < RUNS; i++) coldMap.push(mapStep(new SocketOwners("/proc"), new TrafficAccounting(), sockets));
  mapStep(owners, accounting, sockets); // the agent's first sample
  const dump: number[] = [];
  const map: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    dump.push(cpuMs(() => (sockets = diag.dumpTcp())));
    map.push(mapStep(owners, accounting, sockets));
  }
  const churnMap: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    holder.stdin.write(`churn ${CHURN}\n`);
    holder.stdin.flush();
    await waitFor("CHURNED");
    sockets = diag.dumpTcp();
    churnMap.push(mapStep(owners, accounting, sockets));
  }
  diag.close();

  const net = createNetworkCollector({ procRoot: "/proc", log: createLogger("silent"), netMibS: 10, topN: 10 });
  const whole: number[] = [];
  for (let i = 0; i < RUNS; i++) whole.push(cpuMs(() => net.sample([])));
  net.close();

  const line = (name: string, xs: number[], target?: number) =>
    `${name.padEnd(46)} median ${median(xs).toFixed(2).padStart(7)} ms  min ${Math.min(...xs).toFixed(2).padStart(7)} ms` +
    (target === undefined ? "" : `  target < ${target} ms: ${median(xs) < target ? "OK" : "MISSED"}`);
  console.log(`network bench: ${held} TCP sockets with a file in the dump (${CONNECTIONS} loopback connections held by pid ${holder.pid}); CPU ms per collection, ${RUNS} runs`);
  console.log(line("socket dump (IPv4+IPv6, tcp_info, parse)", dump, TARGET_DUMP_MS));
  console.log(line("inode→pid mapping, warm", map, TARGET_MAP_MS));
  console.log(line(`inode→pid mapping, ${CHURN} connections replaced`, churnMap));
  console.log(line("inode→pid mapping, cold (first sample)", coldMap));
  console.log(line("whole network sample", whole));
} finally {
  holder.stdin.end();
  await holder.exited;
}
