// NETLINK_SOCK_DIAG for TCP: the dump request and the inet_diag_msg + tcp_info parser.
// Layouts from include/uapi/linux/inet_diag.h and tcp.h (offsets checked against live kernels by the tests).
import { AF_INET, AF_INET6 } from "../util/libc.ts";
import { findAttribute, NetlinkParseError, view } from "./netlink-message.ts";

export const NETLINK_SOCK_DIAG = 4;
export const SOCK_DIAG_BY_FAMILY = 20;
const IPPROTO_TCP = 6;
const INET_DIAG_INFO = 2;
const INET_DIAG_MSG_LEN = 72;
export const TCP_LISTEN = 10;
// tcp_info byte counters and the attribute length a kernel must send for each (end offset of the field)
const TCPI_BYTES_ACKED = 120; // u64, Linux 4.1+; counts the SYN (and FIN) as one byte each
const TCPI_BYTES_RECEIVED = 128; // u64, Linux 4.1+
const TCPI_BYTES_SENT = 200; // u64, Linux 4.19+; includes retransmitted bytes
const TCPI_BYTES_RETRANS = 208; // u64, Linux 4.19+
export const TCP_INFO_LEN_BYTES_RECEIVED = TCPI_BYTES_RECEIVED + 8;
export const TCP_INFO_LEN_BYTES_SENT = TCPI_BYTES_RETRANS + 8;

/** One TCP socket as sock_diag reports it. */
export interface DiagSocket {
  family: typeof AF_INET | typeof AF_INET6;
  state: number;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  /** the kernel's socket cookie (u64; below 2^53 in practice since it counts sockets created since boot) */
  cookie: number;
  /** 0 for TIME-WAIT, not-yet-accepted and destroyed sockets */
  inode: number;
  uid: number;
  /** length of the INET_DIAG_INFO attribute (0 = none), which tells what this kernel's tcp_info holds */
  infoLength: number;
  /**
   * Lifetime payload bytes; null when the kernel's tcp_info has no such counter. Both count each byte once:
   * bytes_received ignores duplicates, and sent is bytes_sent − bytes_retrans (retransmissions show up only
   * in the interface counters, hence in `unattributed`).
   */
  bytesReceived: number | null;
  bytesSent: number | null;
}

// Every state except TIME-WAIT and NEW-SYN-RECV: those mini sockets carry no tcp_info, and a busy server
// has tens of thousands of them, which would only cost dump time.
const TCP_TIME_WAIT = 6;
const TCP_NEW_SYN_RECV = 12;
export const DUMPED_STATES = (0xffffffff & ~(1 << TCP_TIME_WAIT) & ~(1 << TCP_NEW_SYN_RECV)) >>> 0;
/** LISTEN sockets only: the kernel then walks its listening hash alone, not the (large) established one. */
export const LISTEN_STATES = 1 << TCP_LISTEN;

/** The 56-byte inet_diag_req_v2 dump request for the TCP sockets of one family in `states`, asking for tcp_info. */
export function buildInetDiagRequestBody(family: number, states: number = DUMPED_STATES): Uint8Array {
  const body = new Uint8Array(56);
  const dv = view(body);
  dv.setUint8(0, family); // sdiag_family
  dv.setUint8(1, IPPROTO_TCP); // sdiag_protocol
  dv.setUint8(2, 1 << (INET_DIAG_INFO - 1)); // idiag_ext
  dv.setUint32(4, states, true); // idiag_states
  return body; // the socket id (bytes 8..55) stays zero: no filter
}

/** Parses one SOCK_DIAG_BY_FAMILY payload (a dump entry or a destroy notification). */
export function parseInetDiagMessage(payload: Uint8Array): DiagSocket {
  if (payload.length < INET_DIAG_MSG_LEN) {
    throw new NetlinkParseError(`inet_diag_msg of ${payload.length} bytes, needs ${INET_DIAG_MSG_LEN}`);
  }
  const dv = view(payload);
  const family = dv.getUint8(0);
  if (family !== AF_INET && family !== AF_INET6) throw new NetlinkParseError(`inet_diag_msg with unknown address family ${family}`);
  const info = findAttribute(payload, INET_DIAG_MSG_LEN, INET_DIAG_INFO);
  const infoLength = info?.length ?? 0;
  let bytesReceived: number | null = null;
  let bytesSent: number | null = null;
  if (info && info.length >= TCP_INFO_LEN_BYTES_RECEIVED) {
    const iv = view(info);
    bytesReceived = u64(iv, TCPI_BYTES_RECEIVED);
    bytesSent =
      info.length >= TCP_INFO_LEN_BYTES_SENT
        ? Math.max(0, u64(iv, TCPI_BYTES_SENT) - u64(iv, TCPI_BYTES_RETRANS))
        : Math.max(0, u64(iv, TCPI_BYTES_ACKED) - 1); // 4.1..4.18: acked data, less the SYN
  }
  return {
    family,
    state: dv.getUint8(1),
    localPort: dv.getUint16(4, false),
    remotePort: dv.getUint16(6, false),
    localAddr: formatAddress(family, payload.subarray(8, 24)),
    remoteAddr: formatAddress(family, payload.subarray(24, 40)),
    cookie: u64(dv, 44),
    uid: dv.getUint32(64, true),
    inode: dv.getUint32(68, true),
    infoLength,
    bytesReceived,
    bytesSent,
  };
}

/** What decides whether a destroy notification counts anything: read by readFinalCounters into one reused object. */
export interface FinalCounters {
  cookie: number;
  /** false when the kernel's tcp_info has no byte counters (the socket then counts nothing) */
  hasBytes: boolean;
  bytesReceived: number;
  bytesSent: number;
}

/**
 * The cookie and final byte counters of the inet_diag_msg at `start`..`end` of `dv`, with the same checks and
 * arithmetic as parseInetDiagMessage but no allocation: a flood of closed connections costs no garbage.
 * Throws NetlinkParseError where parseInetDiagMessage would.
 */
export function readFinalCounters(dv: DataView, start: number, end: number, out: FinalCounters): FinalCounters {
  if (end - start < INET_DIAG_MSG_LEN) throw new NetlinkParseError(`inet_diag_msg of ${end - start} bytes, needs ${INET_DIAG_MSG_LEN}`);
  const family = dv.getUint8(start);
  if (family !== AF_INET && family !== AF_INET6) throw new NetlinkParseError(`inet_diag_msg with unknown address family ${family}`);
  out.cookie = u64(dv, start + 44);
  out.hasBytes = false;
  out.bytesReceived = 0;
  out.bytesSent = 0;
  // the attribute walk of findAttribute, inline: the last INET_DIAG_INFO wins
  let info = -1;
  let infoLen = 0;
  let off = start + INET_DIAG_MSG_LEN;
  while (off < end) {
    const left = end - off;
    if (left < 4) throw new NetlinkParseError(`attribute at offset ${off - start}: ${left} bytes left, an attribute header needs 4`);
    const len = dv.getUint16(off, true);
    if (len < 4) throw new NetlinkParseError(`attribute at offset ${off - start}: length ${len} is shorter than its header`);
    if (len > left) throw new NetlinkParseError(`attribute at offset ${off - start}: length ${len} exceeds the ${left} bytes left`);
    if ((dv.getUint16(off + 2, true) & 0x3fff) === INET_DIAG_INFO) {
      info = off + 4;
      infoLen = len - 4;
    }
    off += (len + 3) & ~3;
  }
  if (info < 0 || infoLen < TCP_INFO_LEN_BYTES_RECEIVED) return out;
  out.hasBytes = true;
  out.bytesReceived = u64(dv, info + TCPI_BYTES_RECEIVED);
  out.bytesSent =
    infoLen >= TCP_INFO_LEN_BYTES_SENT
      ? Math.max(0, u64(dv, info + TCPI_BYTES_SENT) - u64(dv, info + TCPI_BYTES_RETRANS))
      : Math.max(0, u64(dv, info + TCPI_BYTES_ACKED) - 1);
  return out;
}

function u64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 0x1_0000_0000;
}

/** Text form of a 4- or 16-byte address (RFC 5952 for IPv6; IPv4-mapped stays "::ffff:a.b.c.d"). */
export function formatAddress(family: number, raw: Uint8Array): string {
  if (family === AF_INET) return `${raw[0]}.${raw[1]}.${raw[2]}.${raw[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((raw[i]! << 8) | raw[i + 1]!);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${raw[12]}.${raw[13]}.${raw[14]}.${raw[15]}`;
  }
  // the longest run of two or more zero words becomes "::"
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** "ip:port", with IPv6 in brackets. */
export function formatEndpoint(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}
