// Reads a /proc or /sys file to EOF into one reused buffer. Proc files report size 0 or 4096, so the
// size is never trusted; reusing the buffer avoids an allocation per file (thousands per collection).
import { closeSync, openSync, readSync } from "node:fs";

/** Hard cap: cmdline can be as long as ARG_MAX; nothing pmon reads needs more than this. */
const MAX_READ_BYTES = 1024 * 1024;

let buffer = Buffer.allocUnsafe(64 * 1024);

/** The bytes of the last read: valid until the next read (the buffer is shared). */
export interface ReadBytes {
  buf: Buffer;
  len: number;
}
const last: ReadBytes = { buf: buffer, len: 0 };

/**
 * Reads the whole file into the shared buffer; the result object is reused too, so per-pid reads allocate
 * nothing. `singleRecord`: the file is one seq_file record (/proc/PID/stat, io, statm), which the kernel hands
 * over in one read, so a short read is the end: saves the extra read() returning 0, per file per pid.
 * Multi-record files (net/tcp, mounts) may return short reads before the end and must not use it.
 */
export function readProcBytes(path: string, singleRecord = false): ReadBytes {
  const fd = openSync(path, "r");
  try {
    let len = 0;
    for (;;) {
      if (len === buffer.length) {
        if (len >= MAX_READ_BYTES) break;
        const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, MAX_READ_BYTES));
        buffer.copy(bigger, 0, 0, len);
        buffer = bigger;
      }
      const want = buffer.length - len;
      const n = readSync(fd, buffer, len, want, null);
      if (n === 0) break;
      len += n;
      if (singleRecord && n < want) break;
    }
    last.buf = buffer;
    last.len = len;
    return last;
  } finally {
    closeSync(fd);
  }
}

/** The whole file as latin1 text (byte = char, cheap and lossless for kernel text). */
export function readProcText(path: string, singleRecord = false): string {
  const r = readProcBytes(path, singleRecord);
  return r.buf.toString("latin1", 0, r.len);
}
