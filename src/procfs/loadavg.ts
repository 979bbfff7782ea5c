// /proc/loadavg: "0.25 0.14 0.08 1/102 7400".
import type { ProcFs } from "./fs.ts";
import { ProcParseError } from "./errors.ts";

export interface Loadavg {
  load1: number;
  load5: number;
  load15: number;
}

export function parseLoadavg(text: string, file = "loadavg"): Loadavg {
  const f = text.trim().split(/\s+/);
  const [load1, load5, load15] = f.slice(0, 3).map(Number);
  if (f.length < 3 || ![load1, load5, load15].every((x) => Number.isFinite(x) && x! >= 0)) throw new ProcParseError(file, `malformed ${JSON.stringify(text.trim())}`);
  return { load1: load1!, load5: load5!, load15: load15! };
}

export function readLoadavg(fs: ProcFs): Loadavg {
  const path = `${fs.root}/loadavg`;
  return parseLoadavg(fs.readText(path), path);
}
