// /proc/[pid]/stat: one line; comm sits between the first "(" and the LAST ")" because comm itself may
// contain spaces, parentheses and even newlines. Parsed by scanning bytes, not split(), since it runs for
// every pid every collection.
import type { ProcFs } from "./fs.ts";
import { ProcParseError } from "./errors.ts";

export interface PidStat {
  pid: number;
  /** executable name, up to 15 bytes (longer for kernel workers), as the kernel stores it */
  comm: string;
  /** R, S, D, Z, ... */
  state: string;
  ppid: number;
  /** minor faults of reaped children: grows whenever a child that ran anything is reaped */
  cminflt: number;
  /** user-mode CPU time, clock ticks (USER_HZ) */
  utime: number;
  /** kernel-mode CPU time, clock ticks */
  stime: number;
  /** CPU time of reaped children, clock ticks (never part of utime/stime) */
  cutime: number;
  cstime: number;
  numThreads: number;
  /** start time after boot, clock ticks */
  starttime: number;
  /** resident set, pages */
  rss: number;
}

// 1-based field numbers from proc(5); the scan below counts fields from 3 (state) on.
const F_PPID = 4;
const F_CMINFLT = 11;
const F_UTIME = 14;
const F_STIME = 15;
const F_CUTIME = 16;
const F_CSTIME = 17;
const F_NUM_THREADS = 20;
const F_STARTTIME = 22;
const F_RSS = 24;

const OPEN_PAREN = 40;
const CLOSE_PAREN = 41;
const SPACE = 32;
const MINUS = 45;

export function parsePidStat(text: string, file = "stat"): PidStat {
  const buf = Buffer.from(text, "latin1");
  return parsePidStatBytes(buf, buf.length, file);
}

/**
 * Parses the first `len` bytes of `buf`. `knownComm`, the comm seen last time for this process, is returned
 * as is when the bytes still match, so a steady process costs no string allocation.
 */
export function parsePidStatBytes(buf: Uint8Array, len: number, file = "stat", knownComm?: string): PidStat {
  const open = buf.indexOf(OPEN_PAREN);
  const close = buf.lastIndexOf(CLOSE_PAREN, len - 1);
  if (open < 1 || open >= len || close < open) throw new ProcParseError(file, "no (comm) found");
  let pid = 0;
  for (let i = 0; i < open - 1; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) throw new ProcParseError(file, "pid is not a number");
    pid = pid * 10 + (c - 48);
  }
  const out: PidStat = { pid, comm: decodeComm(buf, open + 1, close, knownComm), state: "", ppid: 0, cminflt: 0, utime: 0, stime: 0, cutime: 0, cstime: 0, numThreads: 0, starttime: 0, rss: 0 };
  let field = 3;
  let i = close + 2;
  if (i < len) out.state = String.fromCharCode(buf[i]!);
  while (field < F_RSS && i < len) {
    // advance to the next field
    while (i < len && buf[i] !== SPACE) i++;
    i++;
    field++;
    if (field === F_PPID || field === F_CMINFLT || field === F_UTIME || field === F_STIME || field === F_CUTIME || field === F_CSTIME || field === F_NUM_THREADS || field === F_STARTTIME || field === F_RSS) {
      let v = 0;
      let neg = false;
      if (buf[i] === MINUS) {
        neg = true;
        i++;
      }
      let digits = 0;
      while (i < len) {
        const c = buf[i]!;
        if (c < 48 || c > 57) break;
        v = v * 10 + (c - 48);
        i++;
        digits++;
      }
      if (digits === 0) throw new ProcParseError(file, `field ${field} is not a number`);
      if (neg) v = -v;
      if (field === F_PPID) out.ppid = v;
      else if (field === F_CMINFLT) out.cminflt = v;
      else if (field === F_UTIME) out.utime = v;
      else if (field === F_STIME) out.stime = v;
      else if (field === F_CUTIME) out.cutime = v;
      else if (field === F_CSTIME) out.cstime = v;
      else if (field === F_NUM_THREADS) out.numThreads = v;
      else if (field === F_STARTTIME) out.starttime = v;
      else out.rss = v;
    }
  }
  if (field < F_RSS) throw new ProcParseError(file, `truncated: ${field} fields`);
  return out;
}

function decodeComm(buf: Uint8Array, start: number, end: number, known: string | undefined): string {
  if (known !== undefined && known.length === end - start) {
    let same = true;
    for (let k = 0; k < known.length; k++) {
      if (known.charCodeAt(k) !== buf[start + k]) {
        same = false;
        break;
      }
    }
    if (same) return known;
  }
  let s = "";
  for (let k = start; k < end; k++) s += String.fromCharCode(buf[k]!);
  return s;
}

export function readPidStat(fs: ProcFs, pid: number): PidStat {
  const path = `${fs.root}/${pid}/stat`;
  return parsePidStat(fs.readText(path, true), path);
}
