// The compiled binary (bun:ffi inside `bun build --compile`): `pmon agent --once` on the live /proc while a
// child sends 10 MiB to another child; the sender's process record carries the bytes.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeReport } from "../../../src/protocol/report.ts";
import { requireBinary } from "../../helpers/binary.ts";
import { expectWithin, LIVE_TIMEOUT_MS, MiB, startChild } from "../../helpers/net/helpers.ts";

test("pmon agent --once reports per-process network bytes, connections and capabilities", async () => {
  const size = 10 * MiB;
  const dir = mkdtempSync(join(tmpdir(), "pmon-net-once-"));
  const receiver = startChild("receiver.ts", ["127.0.0.1", String(size)]);
  try {
    const port = await receiver.waitLine("PORT ");
    const config = join(dir, "empty.toml");
    writeFileSync(config, "");
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PMON_")));
    // a long window, so the transfer (started once the agent has primed) ends well inside it
    const agent = Bun.spawn([requireBinary(), "agent", "--config", config, "--once", "--json", "--sample-ms", "6000", "--log-level", "debug"], {
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    const stdout = new Response(agent.stdout).text();
    let stderr = "";
    const dec = new TextDecoder();
    const reader = agent.stderr.getReader();
    while (!stderr.includes("network: window starts")) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += dec.decode(value);
    }
    expect(stderr).toContain("network: sock_diag on"); // the one start-up line
    expect(stderr).toContain("network: window starts"); // the collector has primed: the window is open
    const sender = startChild("sender.ts", ["127.0.0.1", port, String(size), "hold"]);
    try {
      expect(Number(await receiver.waitLine("DONE "))).toBe(size);
      expect(await agent.exited).toBe(0);
      const report = decodeReport(JSON.parse(await stdout));
      const seconds = report.interval_ms / 1000;
      const proc = report.processes.find((p) => p.pid === sender.pid);
      expect(proc).toBeDefined(); // kept: top N by network
      // The rates cover the network collector's window, which starts and ends a process scan later than
      // interval_ms (the kernel clock read at the start of each collection); on this shared, loaded machine the
      // two differ by up to ~200 ms. The exact 1 % checks, on the collector's own window, are in
      // live-loopback.test.ts; this test checks the wiring in the compiled binary.
      expectWithin("sender tx in its process record", proc!.net_tx_bytes_per_s * seconds, size, 10);
      const rx = report.processes.find((p) => p.pid === receiver.pid);
      expectWithin("receiver rx in its process record", (rx?.net_rx_bytes_per_s ?? 0) * seconds, size, 10);
      expect(report.connections.some((c) => c.pid === sender.pid && c.remote === `127.0.0.1:${port}`)).toBe(true);
      expect(report.listen_ports.find((p) => p.port === Number(port))?.pid).toBe(receiver.pid);
      expect(report.capabilities).toMatchObject({ sock_diag: true, tcp_bytes: true, tcp_destroy_events: true });
    } finally {
      await sender.stop();
    }
  } finally {
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, LIVE_TIMEOUT_MS);
