// In the browser: draws synthetic host histories with the web UI's own chart code and times it.
import type { HostSeries, ProcessStack } from "../../src/store/series.ts";
import { drawChart, type Chart } from "../../src/ui/web/charts.ts";
import { chartSpecs } from "../../src/ui/web/host.ts";

const STEP_MS = 30_000;

/** A day at 30 s: `procs` processes with wandering CPU/memory/IO/network, plus rest. */
function synthetic(points: number, procs: number): HostSeries {
  const to = Date.UTC(2026, 10, 24);
  const times = Array.from({ length: points }, (_, i) => to - (points - 1 - i) * STEP_MS);
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const walk = (scale: number) => {
    let v = rnd() * scale;
    return times.map(() => (v = Math.max(0, v + (rnd() - 0.5) * scale * 0.1)));
  };
  const stack = (scale: number): ProcessStack => ({
    processes: Array.from({ length: procs }, (_, i) => ({ pid: 1000 + i, start_time: 0, comm: `proc${i}`, instance: i % 3 ? "" : `port=${3306 + i}`, user: "root", values: walk(scale) })),
    rest: walk(scale),
  });
  const line = (scale: number) => walk(scale);
  return {
    host: "bench",
    from: times[0]!,
    to,
    step_s: 1,
    times,
    cpu_pct: line(100),
    mem_used_bytes: line(8e9),
    mem_total_bytes: times.map(() => 16e9),
    disk_read_bytes_per_s: line(5e7),
    disk_write_bytes_per_s: line(5e7),
    net_rx_bytes_per_s: line(1e8),
    net_tx_bytes_per_s: line(1e8),
    cpu: stack(100),
    mem: stack(1e9),
    io: stack(1e7),
    net: stack(1e7),
    devices: [{ name: "/dev/sda", util_pct: line(100), read_bytes_per_s: line(5e7), write_bytes_per_s: line(5e7) }],
    interfaces: [{ name: "eth0", rx: line(1e8), tx: line(1e8) }, { name: "lo", rx: line(1e6), tx: line(1e6) }],
    ports: [{ name: "3306", rx: line(1e7), tx: line(1e7) }],
    unattributed: [],
    filesystems: [{ mount: "/", used_pct: line(100) }, { mount: "/data", used_pct: line(100) }],
  };
}

const frame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));

/** ms from creating the charts until the next frame has been painted. */
async function time(draw: () => Chart[]): Promise<number> {
  const box = document.getElementById("charts")!;
  box.replaceChildren();
  await frame();
  const t0 = performance.now();
  const charts = draw();
  await frame();
  const ms = performance.now() - t0;
  for (const c of charts) c.plot.destroy();
  return ms;
}

(window as unknown as { bench: unknown }).bench = async (points: number, runs: number) => {
  const s = synthetic(points, 9);
  const box = document.getElementById("charts")!;
  const specs = chartSpecs(s);
  const cpu = specs[0]!.spec;
  const one: number[] = [];
  const page: number[] = [];
  for (let i = 0; i < runs; i++) {
    one.push(await time(() => [drawChart(box, s.times, cpu, { width: 1100 })]));
    page.push(await time(() => specs.map(({ spec }) => drawChart(box, s.times, spec, { width: 1100, syncKey: "bench" }))));
  }
  return { series: cpu.series.length, charts: specs.length, one, page };
};
