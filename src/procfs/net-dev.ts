// /proc/net/dev: two header lines, then "  name: rx_bytes rx_packets ... (8 rx fields) tx_bytes ...".
// It shows the interfaces of the reader's network namespace.
import type { ProcFs } from "./fs.ts";
import { ProcParseError } from "./errors.ts";

export interface NetDevEntry {
  name: string;
  rxBytes: number;
  txBytes: number;
}

export function parseNetDev(text: string, file = "net/dev"): NetDevEntry[] {
  const out: NetDevEntry[] = [];
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/);
    if (f.length < 16) throw new ProcParseError(file, `short line ${JSON.stringify(line)}`);
    out.push({ name: line.slice(0, colon).trim(), rxBytes: Number(f[0]), txBytes: Number(f[8]) });
  }
  return out;
}

export function readNetDev(fs: ProcFs): NetDevEntry[] {
  const path = `${fs.root}/net/dev`;
  return parseNetDev(fs.readText(path), path);
}
