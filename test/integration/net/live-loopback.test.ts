// Live kernel: real TCP transfers between two child processes on loopback, measured by the network collector
// running in this (root) test process.
import { describe, expect, test } from "bun:test";
import { createNetworkCollector, type SockDiagNetworkCollector, type TimedNetworkSample } from "../../../src/collect/network.ts";
import { formatEndpoint } from "../../../src/net/inet-diag.ts";
import { MiB, quietLog, startChild, expectWithin, LIVE_TIMEOUT_MS } from "../../helpers/net/helpers.ts";

function collector(): SockDiagNetworkCollector {
  return createNetworkCollector({ procRoot: "/proc", log: quietLog, netMibS: 10, topN: 10 });
}

/** bytes = rate × window */
const bytes = (s: TimedNetworkSample, rate: number | undefined): number => ((rate ?? 0) * s.window_ms) / 1000;

describe("loopback transfer between two processes", () => {
  for (const host of ["127.0.0.1", "::1"]) {
    test(`50 MiB over ${host}: sender tx and receiver rx within 1 %, right pids and ports`, async () => {
      const size = 50 * MiB;
      const net = collector();
      const receiver = startChild("receiver.ts", [host, String(size)]);
      try {
        const port = Number(await receiver.waitLine("PORT "));
        expect(port).toBeGreaterThan(0);
        net.sample([]); // ends a window before the connection exists
        const sender = startChild("sender.ts", [host, String(port), String(size), "hold"]);
        try {
          expect(Number(await receiver.waitLine("DONE "))).toBe(size);
          await sender.waitLine("SENT");
          const s = net.sample([]);
          expect(s.window_ms).toBeGreaterThan(0);
          const rx = bytes(s, s.byPid.get(receiver.pid)?.rx_bytes_per_s);
          const tx = bytes(s, s.byPid.get(sender.pid)?.tx_bytes_per_s);
          expectWithin("rx", rx, size, 1);
          expectWithin("tx", tx, size, 1);
          // neither side is credited with the other direction's payload
          expect(bytes(s, s.byPid.get(receiver.pid)?.tx_bytes_per_s)).toBeLessThan(0.01 * size);
          expect(bytes(s, s.byPid.get(sender.pid)?.rx_bytes_per_s)).toBeLessThan(0.01 * size);

          const serverSide = s.connections.find((c) => c.pid === receiver.pid);
          const clientSide = s.connections.find((c) => c.pid === sender.pid);
          expect(serverSide?.local).toBe(formatEndpoint(host, port));
          expect(clientSide?.remote).toBe(formatEndpoint(host, port));
          expect(serverSide?.remote).toBe(clientSide?.local);
          expectWithin("serverSide?.rx_bytes_per_s", bytes(s, serverSide?.rx_bytes_per_s), size, 1);
          expectWithin("clientSide?.tx_bytes_per_s", bytes(s, clientSide?.tx_bytes_per_s), size, 1);

          const listen = s.listen_ports.find((p) => p.port === port);
          expect(listen?.pid).toBe(receiver.pid);
          expect(listen?.connections).toBe(1);
          expectWithin("listen?.rx_bytes_per_s", bytes(s, listen?.rx_bytes_per_s), size, 1);
        } finally {
          await sender.stop();
        }
      } finally {
        await receiver.stop();
        net.close();
      }
    }, LIVE_TIMEOUT_MS);
  }

  test("a connection opened, used for 10 MiB and closed inside one sample counts for its process", async () => {
    const size = 10 * MiB;
    const net = collector();
    expect(net.capabilities.tcp_destroy_events).toBe(true); // tests run as root
    const receiver = startChild("receiver.ts", ["127.0.0.1", String(size)]);
    try {
      const port = Number(await receiver.waitLine("PORT "));
      net.sample([]);
      const sender = startChild("sender.ts", ["127.0.0.1", String(port), String(size), "close"]);
      await sender.proc.exited;
      expect(sender.proc.exitCode).toBe(0);
      expect(Number(await receiver.waitLine("CLOSED "))).toBe(size);
      // the kernel sends destroy notifications from a work queue: sample until they are in (or the deadline)
      let rx = 0;
      let clientTx = 0;
      let serverRecord = false;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const s = net.sample([]);
        rx += bytes(s, s.byPid.get(receiver.pid)?.rx_bytes_per_s);
        for (const c of s.connections) {
          if (c.pid === receiver.pid && c.local === `127.0.0.1:${port}`) serverRecord = true;
          if (c.remote === `127.0.0.1:${port}` && c.pid === null) clientTx += bytes(s, c.tx_bytes_per_s);
        }
        if (rx >= size * 0.99 && clientTx >= size * 0.99) break;
        await Bun.sleep(100);
      }
      expectWithin("rx", rx, size, 1);
      expect(serverRecord).toBe(true);
      // the client side closed before any dump saw it, so no process is known for it: reported with pid null
      expectWithin("clientTx", clientTx, size, 1);
    } finally {
      await receiver.stop();
      net.close();
    }
  }, LIVE_TIMEOUT_MS);
});
