// Test child, run inside a network namespace (sock_diag sees only its own): primes the network collector,
// starts a sender to HOST:PORT, waits for "measure" on stdin, then prints one JSON line with the sample,
// the interface byte deltas of /proc/net/dev over exactly the same window, and the sender's pid.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createNetworkCollector } from "../../../../src/collect/network.ts";
import { createLogger } from "../../../../src/log.ts";
import { parseNetDev } from "../../../../src/procfs/net-dev.ts";
import type { InterfaceStats } from "../../../../src/protocol/report.ts";

const [host = "", port = "0", bytes = "0"] = process.argv.slice(2);
let readAt = 0;
function readDev() {
  readAt = performance.now();
  return new Map(parseNetDev(readFileSync("/proc/net/dev", "latin1")).map((d) => [d.name, d]));
}
// the collector's clock is the moment /proc/net/dev was read, so both windows are the same
const net = createNetworkCollector({ procRoot: "/proc", log: createLogger("silent"), netMibS: 10, topN: 10, clock: () => readAt });
const before = readDev();
const startedAt = readAt;
net.sample([]);
const sender = Bun.spawn([process.execPath, join(import.meta.dir, "sender.ts"), host, port, bytes, "hold"], {
  stdin: "pipe",
  stdout: "inherit",
  stderr: "inherit",
});
process.stdout.write(`SENDER ${sender.pid}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== "measure") continue;
  const after = readDev();
  const seconds = (readAt - startedAt) / 1000;
  const deltas: Record<string, { rx: number; tx: number }> = {};
  const interfaces: InterfaceStats[] = [];
  for (const [name, a] of after) {
    const b = before.get(name);
    if (!b) continue;
    deltas[name] = { rx: a.rxBytes - b.rxBytes, tx: a.txBytes - b.txBytes };
    interfaces.push({ name, rx_bytes_per_s: deltas[name].rx / seconds, tx_bytes_per_s: deltas[name].tx / seconds, speed_mbps: null });
  }
  const s = net.sample(interfaces);
  process.stdout.write(
    `RESULT ${JSON.stringify({ sender: sender.pid, capabilities: net.capabilities, deltas, interfaces, sample: { ...s, byPid: Object.fromEntries(s.byPid) } })}\n`,
  );
  break;
}
sender.stdin.end();
await sender.exited;
net.close();
process.exit(0);
