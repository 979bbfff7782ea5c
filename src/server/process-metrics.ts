// The standard process_* metrics every Prometheus client library exports, so the usual alerts on
// memory, CPU, restarts and file descriptors work for pmon too; plus pmon_build_info.
import { readdirSync, readFileSync } from "node:fs";
import { COMMIT, VERSION } from "../version.ts";

const PAGE_SIZE = 4096;

function maxOpenFiles(): number | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

function gauge(lines: string[], name: string, help: string, value: number | null, type = "gauge"): void {
  if (value === null) return;
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
}

export function renderProcessMetrics(): string {
  const lines: string[] = [];
  const cpu = process.cpuUsage();
  gauge(lines, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", (cpu.user + cpu.system) / 1e6, "counter");
  let rss: number | null = null;
  let vsz: number | null = null;
  try {
    const [size, resident] = readFileSync("/proc/self/statm", "utf8").split(" ").map(Number);
    vsz = size! * PAGE_SIZE;
    rss = resident! * PAGE_SIZE;
  } catch {}
  gauge(lines, "process_resident_memory_bytes", "Resident memory size in bytes.", rss);
  gauge(lines, "process_virtual_memory_bytes", "Virtual memory size in bytes.", vsz);
  gauge(lines, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", Math.round(performance.timeOrigin) / 1000);
  let fds: number | null = null;
  try {
    fds = readdirSync("/proc/self/fd").length;
  } catch {}
  gauge(lines, "process_open_fds", "Number of open file descriptors.", fds);
  gauge(lines, "process_max_fds", "Maximum number of open file descriptors.", maxOpenFiles());
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  lines.push(
    "# HELP pmon_build_info The pmon version and commit this server runs; always 1.",
    "# TYPE pmon_build_info gauge",
    `pmon_build_info{version="${esc(VERSION)}",commit="${esc(COMMIT)}"} 1`,
  );
  return lines.join("\n") + "\n";
}
