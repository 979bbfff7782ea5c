// /proc/stat: aggregate CPU time per state (USER_HZ ticks since boot), one "cpuN" line per CPU, boot time.
import type { ProcFs } from "./fs.ts";
import { ProcParseError } from "./errors.ts";

/** Ticks spent in each state, summed over all CPUs (kernel names). */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface Stat {
  cpu: CpuTimes;
  /** number of cpuN lines (online CPUs) */
  cpuCount: number;
  /** boot time, seconds since the epoch */
  btime: number;
}

export function parseStat(text: string, file = "stat"): Stat {
  let cpu: CpuTimes | undefined;
  let cpuCount = 0;
  let btime: number | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("cpu ")) {
      const f = line.trim().split(/\s+/).slice(1).map(Number);
      if (f.length < 4 || f.some((x) => !Number.isFinite(x))) throw new ProcParseError(file, `malformed cpu line ${JSON.stringify(line)}`);
      // fields missing on old kernels (iowait since 2.5.41, steal since 2.6.11) count as 0
      cpu = { user: f[0]!, nice: f[1]!, system: f[2]!, idle: f[3]!, iowait: f[4] ?? 0, irq: f[5] ?? 0, softirq: f[6] ?? 0, steal: f[7] ?? 0 };
    } else if (line.startsWith("cpu")) {
      cpuCount++;
    } else if (line.startsWith("btime ")) {
      btime = Number(line.slice(6));
    }
  }
  if (!cpu) throw new ProcParseError(file, "no aggregate cpu line");
  if (btime === undefined || !Number.isFinite(btime)) throw new ProcParseError(file, "no btime line");
  return { cpu, cpuCount: Math.max(cpuCount, 1), btime };
}

export function readStat(fs: ProcFs): Stat {
  const path = `${fs.root}/stat`;
  return parseStat(fs.readText(path), path);
}
