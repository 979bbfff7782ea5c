// /proc/meminfo: "Key:   value kB" lines. Values are kept in kB as the kernel prints them.
import type { ProcFs } from "./fs.ts";
import { ProcParseError } from "./errors.ts";

export interface Meminfo {
  memTotalKb: number;
  memFreeKb: number;
  /** estimate of memory available without swapping (kernel 3.14+); derived on older kernels */
  memAvailableKb: number;
  swapTotalKb: number;
  swapFreeKb: number;
}

export function parseMeminfo(text: string, file = "meminfo"): Meminfo {
  const v = new Map<string, number>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 1) continue;
    const n = parseInt(line.slice(colon + 1), 10);
    if (Number.isFinite(n)) v.set(line.slice(0, colon), n);
  }
  const total = v.get("MemTotal");
  if (total === undefined) throw new ProcParseError(file, "no MemTotal");
  const free = v.get("MemFree") ?? 0;
  // before 3.14 there is no MemAvailable: free + reclaimable caches is the usual approximation
  const available = v.get("MemAvailable") ?? free + (v.get("Buffers") ?? 0) + (v.get("Cached") ?? 0) + (v.get("SReclaimable") ?? 0);
  return { memTotalKb: total, memFreeKb: free, memAvailableKb: available, swapTotalKb: v.get("SwapTotal") ?? 0, swapFreeKb: v.get("SwapFree") ?? 0 };
}

export function readMeminfo(fs: ProcFs): Meminfo {
  const path = `${fs.root}/meminfo`;
  return parseMeminfo(fs.readText(path), path);
}
