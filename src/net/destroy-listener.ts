// Final counters of TCP sockets as they are destroyed: the kernel multicasts an inet_diag_msg (inode 0,
// cookie set, tcp_info included) to SKNLGRP_INET_TCP_DESTROY / SKNLGRP_INET6_TCP_DESTROY subscribers.
// Any local user can open and close connections by the ten thousand per second, so a drain reads each
// notification's counters without allocating, keeps (parses fully) only those that count bytes, and stops
// at bounds: what it skips is counted, never credited to anyone.
import { NETLINK_SOCK_DIAG, parseInetDiagMessage, readFinalCounters, SOCK_DIAG_BY_FAMILY, type DiagSocket, type FinalCounters } from "./inet-diag.ts";
import { attachZeroByteDestroyFilter } from "./destroy-filter.ts";
import { NetlinkParseError } from "./netlink-message.ts";
import { NetlinkSocket } from "./netlink-socket.ts";

const SKNLGRP_INET_TCP_DESTROY = 1;
const SKNLGRP_INET6_TCP_DESTROY = 3;
const GROUPS = (1 << (SKNLGRP_INET_TCP_DESTROY - 1)) | (1 << (SKNLGRP_INET6_TCP_DESTROY - 1));
// Bursts of short connections between two samples must fit; root may go past rmem_max.
const RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024;

export interface DestroyDrain {
  /** the notifications kept: those `counts` accepted, up to `maxKept` */
  sockets: DiagSocket[];
  /** the kernel dropped notifications (receive buffer full): some closed sockets are missing */
  overflowed: boolean;
  /** notifications that did not parse */
  malformed: number;
  /** notifications read that `counts` turned down (nothing to credit), never parsed further */
  ignored: number;
  /** notifications that counted bytes but were past `maxKept`: their bytes stay unattributed */
  dropped: number;
  /** the drain stopped at `maxDatagrams` with notifications still queued */
  more: boolean;
}

export interface DrainLimits {
  /** whether a notification's final counters credit anything (default: all do); `c` is reused, copy what you keep */
  counts?: (c: FinalCounters) => boolean;
  /** at most this many notifications are returned */
  maxKept?: number;
  /** at most this many datagrams are read (one notification each); the rest waits in the kernel's queue */
  maxDatagrams?: number;
}

export class DestroyListener {
  private readonly scratch: FinalCounters = { cookie: 0, hasBytes: false, bytesReceived: 0, bytesSent: 0 };

  /** the kernel drops notifications of connections that moved no bytes (src/net/destroy-filter.ts) */
  kernelFiltered = false;

  private constructor(private readonly sock: NetlinkSocket) {}

  /** Subscribes; throws SyscallError with errno EPERM when the process lacks CAP_NET_ADMIN. */
  static open(): DestroyListener {
    return new DestroyListener(
      NetlinkSocket.open(NETLINK_SOCK_DIAG, { groups: GROUPS, nonBlocking: true, receiveBufferBytes: RECEIVE_BUFFER_BYTES }),
    );
  }

  /**
   * Asks the kernel to drop the notifications that can credit nothing (no byte moved); false when it
   * refuses, and drain's `counts` then does the same work here. After this, a closed socket that moved
   * nothing (such as the kernel probe's listener) is never seen.
   */
  filterZeroBytes(): boolean {
    this.kernelFiltered = attachZeroByteDestroyFilter(this.sock.fd);
    return this.kernelFiltered;
  }

  /** What was destroyed since the last drain, within `limits`; never blocks. */
  drain(limits: DrainLimits = {}): DestroyDrain {
    const maxKept = limits.maxKept ?? Infinity;
    const sockets: DiagSocket[] = [];
    let malformed = 0;
    let ignored = 0;
    let dropped = 0;
    const { overflowed, more } = this.sock.drainRecords((data, dv, type, start, end) => {
      if (type !== SOCK_DIAG_BY_FAMILY) return;
      try {
        if (limits.counts && !limits.counts(readFinalCounters(dv, start, end, this.scratch))) {
          ignored++;
          return;
        }
        if (sockets.length >= maxKept) {
          dropped++;
          return;
        }
        sockets.push(parseInetDiagMessage(data.subarray(start, end)));
      } catch (e) {
        if (!(e instanceof NetlinkParseError)) throw e;
        malformed++;
      }
    }, limits.maxDatagrams);
    return { sockets, overflowed, malformed, ignored, dropped, more };
  }

  close(): void {
    this.sock.close();
  }
}
