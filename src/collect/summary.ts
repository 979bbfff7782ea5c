// A short human-readable rendering of one report, for `pmon agent --once` without --json.
import type { ProcessRecord, Report } from "../protocol/report.ts";
import { escapeControls } from "../util/terminal.ts";

const MiB = 1024 * 1024;

export const SUMMARY_BY = ["cpu", "mem", "io", "net"] as const;
export type SummaryBy = (typeof SUMMARY_BY)[number];

const RANK: Record<SummaryBy, (p: ProcessRecord) => number> = {
  cpu: (p) => p.cpu_pct,
  mem: (p) => p.rss_bytes,
  io: (p) => p.read_bytes_per_s + p.write_bytes_per_s,
  net: (p) => p.net_rx_bytes_per_s + p.net_tx_bytes_per_s,
};

/** The report as text: host lines, then one line per kept process, heaviest first by `by`. */
export function formatReportSummary(r: Report, by: SummaryBy = "cpu"): string {
  const processes = [...r.processes].sort((a, b) => RANK[by](b) - RANK[by](a) || a.pid - b.pid);
  const c = r.system.cpu;
  const m = r.system.memory;
  const lines = [
    `${r.host}  window ${r.interval_ms} ms  cpu ${c.count} x: user ${c.user_pct}% system ${c.system_pct}% iowait ${c.iowait_pct}%  load ${c.load1} ${c.load5} ${c.load15}`,
    `memory used ${(m.used_bytes / MiB).toFixed(0)} of ${(m.total_bytes / MiB).toFixed(0)} MiB, swap used ${(m.swap_used_bytes / MiB).toFixed(0)} MiB`,
    ...r.system.filesystems.map((f) => `fs ${f.mount} (${f.device}, ${f.fstype}): ${(f.used_bytes / MiB).toFixed(0)} of ${(f.total_bytes / MiB).toFixed(0)} MiB used`),
    ...r.system.disks.map((d) => `disk ${d.device}: read ${(d.read_bytes_per_s / MiB).toFixed(2)} MiB/s write ${(d.write_bytes_per_s / MiB).toFixed(2)} MiB/s util ${d.util_pct}% avgqu ${d.avgqu}`),
    "",
    `processes by ${by}:`,
    ["PID".padStart(7), "USER".padEnd(10), "CPU%".padStart(7), "RSS MiB".padStart(9), "RD MiB/s".padStart(9), "WR MiB/s".padStart(9), "RX MiB/s".padStart(9), "TX MiB/s".padStart(9), "COMMAND"].join(" "),
    ...processes.map((p) =>
      [
        String(p.pid).padStart(7),
        p.user.slice(0, 10).padEnd(10),
        p.cpu_pct.toFixed(1).padStart(7),
        (p.rss_bytes / MiB).toFixed(1).padStart(9),
        (p.read_bytes_per_s / MiB).toFixed(2).padStart(9),
        (p.write_bytes_per_s / MiB).toFixed(2).padStart(9),
        (p.net_rx_bytes_per_s / MiB).toFixed(2).padStart(9),
        (p.net_tx_bytes_per_s / MiB).toFixed(2).padStart(9),
        (p.cmdline || `[${p.comm}]`).slice(0, 80) + (p.instance ? `  (${p.instance})` : ""),
      ].join(" "),
    ),
    `${r.rest.count} other processes: cpu ${r.rest.cpu_pct.toFixed(1)}%, rss ${(r.rest.rss_bytes / MiB).toFixed(0)} MiB, ` +
      `disk ${((r.rest.read_bytes_per_s + r.rest.write_bytes_per_s) / MiB).toFixed(2)} MiB/s, net ${((r.rest.net_rx_bytes_per_s + r.rest.net_tx_bytes_per_s) / MiB).toFixed(2)} MiB/s`,
  ];
  const errors = Object.entries(r.collector_errors);
  if (errors.length > 0) lines.push(`collector errors: ${errors.map(([k, n]) => `${k}=${n}`).join(" ")}`);
  // host strings (command lines, device names) reach the operator's terminal escaped
  return lines.map(escapeControls).join("\n") + "\n";
}
