// /proc/[pid]/io: "key: value" lines. read_bytes/write_bytes are what reached the block layer
// (rchar/wchar also count page-cache hits and pipes). Readable only with ptrace access: EACCES otherwise.
import type { ProcFs } from "./fs.ts";
import { ProcParseError } from "./errors.ts";

export interface PidIo {
  /** bytes this process caused to be fetched from storage */
  readBytes: number;
  /** bytes this process caused to be sent to storage (dirtied pages, counted at write time) */
  writeBytes: number;
}

// the leading newline keeps "cancelled_write_bytes" from matching "write_bytes"
const READ_KEY = Buffer.from("\nread_bytes: ", "latin1");
const WRITE_KEY = Buffer.from("\nwrite_bytes: ", "latin1");

function numberAfter(buf: Buffer, len: number, key: Buffer, file: string): number {
  const at = buf.indexOf(key);
  if (at < 0 || at + key.length > len) throw new ProcParseError(file, `missing ${key.toString("latin1").trim()}`);
  let i = at + key.length;
  const start = i;
  let v = 0;
  while (i < len) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    i++;
  }
  if (i === start) throw new ProcParseError(file, `${key.toString("latin1").trim()} is not a number`);
  return v;
}

export function parsePidIo(text: string, file = "io"): PidIo {
  const buf = Buffer.from(text, "latin1");
  return parsePidIoBytes(buf, buf.length, file);
}

/** Parses the first `len` bytes of `buf` (a shared read buffer: bytes after `len` are stale). */
export function parsePidIoBytes(buf: Buffer, len: number, file = "io"): PidIo {
  return { readBytes: numberAfter(buf, len, READ_KEY, file), writeBytes: numberAfter(buf, len, WRITE_KEY, file) };
}

export function readPidIo(fs: ProcFs, pid: number): PidIo {
  const path = `${fs.root}/${pid}/io`;
  return parsePidIo(fs.readText(path, true), path);
}
