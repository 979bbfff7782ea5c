// Live kernel: a transfer across a veth pair between two network namespaces this test creates. The collector
// runs inside one of them (sock_diag and /proc/net/dev only show the caller's namespace).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { InterfaceStats, UnattributedRecord } from "../../../src/protocol/report.ts";
import { expectWithin, MiB, startChild, LIVE_TIMEOUT_MS } from "../../helpers/net/helpers.ts";

const tag = Math.random().toString(36).slice(2, 8);
const nsA = `pmon-nt-${tag}-a`;
const nsB = `pmon-nt-${tag}-b`;
const ifA = `pnt${tag}a`; // interface names are at most 15 characters
const ifB = `pnt${tag}b`;
const subnet = `10.213.${Math.floor(Math.random() * 250) + 1}`;
const addrA = `${subnet}.1`;
const addrB = `${subnet}.2`;

async function ip(...args: string[]): Promise<void> {
  const p = Bun.spawn(["ip", ...args], { stdout: "pipe", stderr: "pipe" });
  if ((await p.exited) !== 0) throw new Error(`ip ${args.join(" ")}: ${await new Response(p.stderr).text()}`);
}

beforeAll(async () => {
  await ip("netns", "add", nsA);
  await ip("netns", "add", nsB);
  await ip("link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB);
  await ip("-n", nsA, "addr", "add", `${addrA}/24`, "dev", ifA);
  await ip("-n", nsB, "addr", "add", `${addrB}/24`, "dev", ifB);
  for (const [ns, dev] of [[nsA, ifA], [nsB, ifB]] as const) {
    await ip("-n", ns, "link", "set", dev, "up");
    await ip("-n", ns, "link", "set", "lo", "up");
  }
}, LIVE_TIMEOUT_MS);

afterAll(async () => {
  for (const ns of [nsA, nsB]) await ip("netns", "del", ns).catch(() => {}); // deleting the netns removes the veth too
}, LIVE_TIMEOUT_MS);

interface Result {
  sender: number;
  capabilities: Record<string, unknown>;
  deltas: Record<string, { rx: number; tx: number }>;
  interfaces: InterfaceStats[];
  sample: {
    window_ms: number;
    byPid: Record<string, { rx_bytes_per_s: number; tx_bytes_per_s: number }>;
    connections: { pid: number | null; local: string; remote: string; rx_bytes_per_s: number; tx_bytes_per_s: number }[];
    unattributed: UnattributedRecord[];
  };
}

describe("network namespace with a veth pair", () => {
  test("attributed bytes ≈ payload, and attributed + unattributed = the interface's /proc/net/dev delta", async () => {
    const size = 20 * MiB;
    const receiver = startChild("receiver.ts", [addrB, String(size)], ["ip", "netns", "exec", nsB]);
    try {
      const port = await receiver.waitLine("PORT ");
      const agent = startChild("netns-collect.ts", [addrB, port, String(size)], ["ip", "netns", "exec", nsA]);
      try {
        const sender = Number(await agent.waitLine("SENDER "));
        expect(Number(await receiver.waitLine("DONE "))).toBe(size);
        agent.proc.stdin.write("measure\n");
        agent.proc.stdin.flush();
        const r = JSON.parse(await agent.waitLine("RESULT ")) as Result;
        const seconds = r.sample.window_ms / 1000;
        expect(seconds).toBeGreaterThan(0);
        expect(r.sender).toBe(sender);

        // the sender process: its payload, nothing more
        expectWithin("sender tx", (r.sample.byPid[String(sender)]?.tx_bytes_per_s ?? 0) * seconds, size, 1);
        const conn = r.sample.connections.find((c) => c.pid === sender);
        expect(conn?.remote).toBe(`${addrB}:${port}`);
        expect(conn?.local.startsWith(`${addrA}:`)).toBe(true);

        // the veth: interface delta = attributed (socket payload) + unattributed (headers, ACKs, ...)
        const dev = r.deltas[ifA]!;
        expect(dev.tx).toBeGreaterThan(size);
        const iface = r.interfaces.find((i) => i.name === ifA)!;
        const un = r.sample.unattributed.find((u) => u.interface === ifA)!;
        expect(un.tx_bytes_per_s).toBeGreaterThan(0); // headers: never clamped at zero here
        const attributedTx = (iface.tx_bytes_per_s - un.tx_bytes_per_s) * seconds;
        const attributedRx = (iface.rx_bytes_per_s - un.rx_bytes_per_s) * seconds;
        expectWithin("attributed tx", attributedTx, size, 1);
        expectWithin("attributed + unattributed tx", attributedTx + un.tx_bytes_per_s * seconds, dev.tx, 0.001);
        expect(attributedRx).toBeLessThan(0.01 * size); // the receiver sends only ACKs back: headers, no payload
        expectWithin("attributed + unattributed rx", attributedRx + un.rx_bytes_per_s * seconds, dev.rx, 0.001);
      } finally {
        await agent.stop();
      }
    } finally {
      await receiver.stop();
    }
  }, LIVE_TIMEOUT_MS);
});
