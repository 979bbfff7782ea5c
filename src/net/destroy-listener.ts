// Final counters of TCP sockets as they are destroyed: the kernel multicasts an inet_diag_msg (inode 0,
// cookie set, tcp_info included) to SKNLGRP_INET_TCP_DESTROY / SKNLGRP_INET6_TCP_DESTROY subscribers.
import { NETLINK_SOCK_DIAG, parseInetDiagMessage, SOCK_DIAG_BY_FAMILY, type DiagSocket } from "./inet-diag.ts";
import { NetlinkParseError } from "./netlink-message.ts";
import { NetlinkSocket } from "./netlink-socket.ts";

const SKNLGRP_INET_TCP_DESTROY = 1;
const SKNLGRP_INET6_TCP_DESTROY = 3;
const GROUPS = (1 << (SKNLGRP_INET_TCP_DESTROY - 1)) | (1 << (SKNLGRP_INET6_TCP_DESTROY - 1));
// Bursts of short connections between two samples must fit; root may go past rmem_max.
const RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024;

export interface DestroyDrain {
  sockets: DiagSocket[];
  /** the kernel dropped notifications (receive buffer full): some closed sockets are missing */
  overflowed: boolean;
  /** notifications that did not parse */
  malformed: number;
}

export class DestroyListener {
  private constructor(private readonly sock: NetlinkSocket) {}

  /** Subscribes; throws SyscallError with errno EPERM when the process lacks CAP_NET_ADMIN. */
  static open(): DestroyListener {
    return new DestroyListener(
      NetlinkSocket.open(NETLINK_SOCK_DIAG, { groups: GROUPS, nonBlocking: true, receiveBufferBytes: RECEIVE_BUFFER_BYTES }),
    );
  }

  /** Everything destroyed since the last drain; never blocks. */
  drain(): DestroyDrain {
    const sockets: DiagSocket[] = [];
    let malformed = 0;
    const { overflowed } = this.sock.drain((msg) => {
      if (msg.type !== SOCK_DIAG_BY_FAMILY) return;
      try {
        sockets.push(parseInetDiagMessage(msg.payload));
      } catch (e) {
        if (!(e instanceof NetlinkParseError)) throw e;
        malformed++;
      }
    });
    return { sockets, overflowed, malformed };
  }

  close(): void {
    this.sock.close();
  }
}
