// /proc/[pid]/statm: "size resident shared text lib data dt", all in pages.
import type { ProcFs } from "./fs.ts";
import { ProcParseError } from "./errors.ts";

export interface PidStatm {
  /** total program size, pages */
  size: number;
  /** resident set size, pages */
  resident: number;
}

export function parsePidStatm(text: string, file = "statm"): PidStatm {
  const buf = Buffer.from(text, "latin1");
  return parsePidStatmBytes(buf, buf.length, file);
}

/** Parses the first `len` bytes of `buf` (a shared read buffer: bytes after `len` are stale). */
export function parsePidStatmBytes(buf: Uint8Array, len: number, file = "statm"): PidStatm {
  let i = 0;
  const next = (): number => {
    let v = 0;
    const start = i;
    while (i < len) {
      const c = buf[i]!;
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    if (i === start) throw new ProcParseError(file, "expected 'size resident ...'");
    return v;
  };
  const size = next();
  if (buf[i] !== 32 || i >= len) throw new ProcParseError(file, "expected 'size resident ...'");
  i++;
  return { size, resident: next() };
}

export function readPidStatm(fs: ProcFs, pid: number): PidStatm {
  const path = `${fs.root}/${pid}/statm`;
  return parsePidStatm(fs.readText(path, true), path);
}
