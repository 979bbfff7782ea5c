// The numeric names of a directory (pids in /proc, fd numbers in /proc/PID/fd), read with getdents64 into
// the caller's buffer, and written back as path bytes: no string per entry, thousands of which a walk of
// every process would allocate.
import { errno, getLibc } from "./libc.ts";

// struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16 at 16, d_type u8 at 18, d_name at 19
const RECLEN_AT = 16;
const NAME_AT = 19;

/** Appends the numeric entries of the open directory `fd` to `out`; returns 0, or the errno of a failed read. */
export function readNumericEntries(fd: number, buf: Uint8Array, out: number[]): number {
  const libc = getLibc();
  for (;;) {
    const got = Number(libc.getdents64(fd, buf, buf.length));
    if (got < 0) return errno();
    if (got === 0) return 0;
    for (let off = 0; off < got; ) {
      const n = decimalAt(buf, off + NAME_AT);
      if (n >= 0) out.push(n);
      off += buf[off + RECLEN_AT]! | (buf[off + RECLEN_AT + 1]! << 8);
    }
  }
}

/** The non-negative decimal number NUL-terminated at `at`, or -1 for any other name ("." and "..", "self"). */
function decimalAt(buf: Uint8Array, at: number): number {
  let v = 0;
  let i = at;
  for (; buf[i] !== 0; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return i === at ? -1 : v;
}

/** Writes `value` in decimal at `at`; returns the index after the last digit. */
export function writeDecimal(buf: Uint8Array, at: number, value: number): number {
  let end = at;
  let v = value;
  do {
    buf[end++] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  buf.subarray(at, end).reverse();
  return end;
}
