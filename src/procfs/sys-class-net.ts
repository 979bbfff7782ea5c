// /sys/class/net/<if>/speed: link speed in Mb/s. Virtual and down links give -1 or EINVAL on read.
import { readProcText } from "./read.ts";

export function parseNetSpeed(text: string): number | null {
  const n = Number(text.trim());
  return text.trim() !== "" && Number.isFinite(n) && n > 0 ? n : null;
}

/** Mb/s, or null where the kernel does not know it (loopback, virtual, down, missing). */
export function readNetSpeed(sysRoot: string, iface: string, readText: (p: string) => string = readProcText): number | null {
  try {
    return parseNetSpeed(readText(`${sysRoot}/class/net/${iface}/speed`));
  } catch {
    return null;
  }
}
