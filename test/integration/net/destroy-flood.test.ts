// Live kernel: a local process opening and closing thousands of loopback TCP connections per second
// (test/helpers/net/tcp-flood.c) against the network collector running in this (root) test process.
// What is asserted is deterministic: how many notifications the collector held and what it counted as
// skipped, never how long anything took.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetworkCollector, type SockDiagNetworkCollector, type TimedNetworkSample } from "../../../src/collect/network.ts";
import { DestroyListener } from "../../../src/net/destroy-listener.ts";
import type { DiagSocket } from "../../../src/net/inet-diag.ts";
import { expectWithin, LIVE_TIMEOUT_MS, MiB, quietLog, startChild } from "../../helpers/net/helpers.ts";

// the collector's bound on closed connections held between two samples, set low so that a short flood
// surely goes past it even when the kernel's queue overflows too
const MAX_PENDING = 1000;

let work = "";
let flooder = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "pmon-flood-test-"));
  flooder = join(work, "tcp-flood");
  const cc = Bun.spawnSync(["cc", "-O2", "-o", flooder, join(import.meta.dir, "..", "..", "helpers", "net", "tcp-flood.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`cc tcp-flood.c failed: ${cc.stderr.toString()}`);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function collector(maxPendingDestroyed?: number): SockDiagNetworkCollector {
  const net = createNetworkCollector({ procRoot: "/proc", log: quietLog, netMibS: 10, topN: 10, maxPendingDestroyed });
  expect(net.capabilities.tcp_destroy_events).toBe(true); // tests run as root
  return net;
}

/** Runs the flooder; samples every second meanwhile when `sampleEveryS`; returns the connections made. */
async function flood(net: SockDiagNetworkCollector, perS: number, seconds: number, payload: number, samples: TimedNetworkSample[] | null): Promise<{ made: number; pid: number }> {
  const p = Bun.spawn([flooder, String(perS), String(seconds), String(payload)], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  while (samples && p.exitCode === null) {
    await Bun.sleep(1000);
    samples.push(net.sample([]));
  }
  await p.exited;
  expect(p.exitCode).toBe(0);
  return { made: Number((await new Response(p.stdout).text()).trim()), pid: p.pid };
}

const bytes = (s: TimedNetworkSample, rate: number | undefined): number => ((rate ?? 0) * s.window_ms) / 1000;

describe("TCP connection flood", () => {
  test("the kernel filter drops exactly the notifications of connections that moved no bytes", async () => {
    const filtered = DestroyListener.open();
    const unfiltered = DestroyListener.open();
    try {
      expect(filtered.filterZeroBytes()).toBe(true);
      expect(unfiltered.kernelFiltered).toBe(false);
      for (const payload of [0, 10]) {
        filtered.drain();
        unfiltered.drain();
        const p = Bun.spawnSync([flooder, "3000", "1", String(payload)], { stdout: "pipe" });
        expect(p.exitCode).toBe(0);
        const made = Number(p.stdout.toString().trim());
        const withBytes = (xs: DiagSocket[]) => xs.filter((s) => (s.bytesReceived ?? 0) + (s.bytesSent ?? 0) > 0).length;
        // the kernel sends the last notifications from a work queue, later on a busy machine: drain both
        // listeners until every connection has been heard of and they agree, for at most 10 s
        const f: DiagSocket[] = [];
        const u: DiagSocket[] = [];
        let overflowed = false;
        const deadline = Date.now() + 10_000;
        for (;;) {
          await Bun.sleep(250);
          const df = filtered.drain();
          const du = unfiltered.drain();
          overflowed ||= df.overflowed || du.overflowed;
          f.push(...df.sockets);
          u.push(...du.sockets);
          const heard = u.length >= 2 * made && (payload === 0 || withBytes(u) >= made);
          if ((heard && withBytes(f) === withBytes(u)) || Date.now() > deadline) break;
        }
        expect(overflowed).toBe(false);
        expect(u.length).toBeGreaterThanOrEqual(2 * made); // both ends of each, plus the machine's own
        // what the filter let through is what moved bytes; nothing that moved bytes was held back
        expect(withBytes(f)).toBe(withBytes(u));
        if (payload === 0) expect(f.length).toBeLessThan(made / 10);
        else expect(withBytes(f)).toBeGreaterThanOrEqual(made);
      }
    } finally {
      filtered.close();
      unfiltered.close();
    }
  }, LIVE_TIMEOUT_MS);

  test("a flood of connections that move nothing: nothing held, nothing dropped", async () => {
    const net = collector();
    try {
      const before = { ...net.destroyStats };
      const samples: TimedNetworkSample[] = [];
      const { made } = await flood(net, 15_000, 4, 0, samples);
      await Bun.sleep(1500);
      samples.push(net.sample([]));
      expect(made).toBeGreaterThan(10_000);
      // the kernel filter (or, without it, the collector) forgets them; other processes on the machine may
      // close a few connections that moved bytes
      const kept = net.destroyStats.read - before.read - (net.destroyStats.ignored - before.ignored);
      expect(kept).toBeLessThan(1000);
      expect(net.destroyStats.maxPending).toBeLessThan(1000);
      expect(net.destroyStats.dropped - before.dropped).toBe(0);
      expect(samples.some((s) => s.errors.net_destroy_dropped)).toBe(false);
    } finally {
      net.close();
    }
  }, LIVE_TIMEOUT_MS);

  test("past the bound, closed connections that moved bytes are counted as dropped, never credited", async () => {
    const net = collector(MAX_PENDING);
    try {
      net.sample([]);
      const payload = 10;
      // no sample during the flood: the 1-s drain alone fills the window's list
      const { made, pid } = await flood(net, 5_000, 2, payload, null);
      await Bun.sleep(1500);
      const s = net.sample([]);
      expect(made).toBeGreaterThan(5 * MAX_PENDING); // the flood did go past the bound
      expect(net.destroyStats.maxPending).toBe(MAX_PENDING);
      expect(net.destroyStats.dropped).toBeGreaterThan(0);
      expect(s.errors.net_destroy_dropped).toBe(net.destroyStats.dropped);
      // the flooding client is credited at most what it moved: a dropped notification's bytes become unattributed
      let credited = 0;
      for (const [p, r] of s.byPid) if (p === pid) credited += bytes(s, r.rx_bytes_per_s) + bytes(s, r.tx_bytes_per_s);
      expect(credited).toBeLessThanOrEqual(2 * payload * made);
    } finally {
      net.close();
    }
  }, LIVE_TIMEOUT_MS);

  test("after a flood, a 10 MiB transfer closed inside one sample still counts for its process (±5 %)", async () => {
    const net = collector();
    const size = 10 * MiB;
    try {
      await flood(net, 15_000, 2, 0, [net.sample([])]);
      await Bun.sleep(1500);
      net.sample([]);
      const receiver = startChild("receiver.ts", ["127.0.0.1", String(size)]);
      try {
        const port = Number(await receiver.waitLine("PORT "));
        net.sample([]);
        const sender = startChild("sender.ts", ["127.0.0.1", String(port), String(size), "close"]);
        await sender.proc.exited;
        expect(sender.proc.exitCode).toBe(0);
        expect(Number(await receiver.waitLine("CLOSED "))).toBe(size);
        let rx = 0;
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline && rx < size * 0.99) {
          const s = net.sample([]);
          rx += bytes(s, s.byPid.get(receiver.pid)?.rx_bytes_per_s);
          await Bun.sleep(100);
        }
        expectWithin("rx", rx, size, 5);
      } finally {
        await receiver.stop();
      }
    } finally {
      net.close();
    }
  }, LIVE_TIMEOUT_MS);
});
