// /proc/diskstats: "major minor name" then counters (Documentation/admin-guide/iostats.rst).
import type { ProcFs } from "./fs.ts";
import { ProcParseError } from "./errors.ts";

export interface DiskstatsEntry {
  major: number;
  minor: number;
  name: string;
  /** 512-byte sectors read, cumulative */
  sectorsRead: number;
  sectorsWritten: number;
  /** ms the device had I/O in flight */
  ioTicksMs: number;
  /** ms spent doing I/O weighted by the number of requests in flight (time in queue) */
  weightedIoTicksMs: number;
}

export function parseDiskstats(text: string, file = "diskstats"): DiskstatsEntry[] {
  const out: DiskstatsEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) {
      if (line.trim() !== "") throw new ProcParseError(file, `short line ${JSON.stringify(line)}`);
      continue;
    }
    const n = (i: number) => Number(f[i]);
    out.push({ major: n(0), minor: n(1), name: f[2]!, sectorsRead: n(5), sectorsWritten: n(9), ioTicksMs: n(12), weightedIoTicksMs: n(13) });
  }
  return out;
}

export function readDiskstats(fs: ProcFs): DiskstatsEntry[] {
  const path = `${fs.root}/diskstats`;
  return parseDiskstats(fs.readText(path), path);
}
