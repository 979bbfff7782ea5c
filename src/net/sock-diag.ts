// Dumps every TCP socket of this network namespace (IPv4 and IPv6) with its tcp_info byte counters.
import { AF_INET, AF_INET6 } from "../util/libc.ts";
import { buildInetDiagRequestBody, DUMPED_STATES, NETLINK_SOCK_DIAG, parseInetDiagMessage, SOCK_DIAG_BY_FAMILY, type DiagSocket } from "./inet-diag.ts";
import { NetlinkSocket } from "./netlink-socket.ts";

export class SockDiag {
  private constructor(private readonly sock: NetlinkSocket) {}

  /** Throws SyscallError when the kernel has no NETLINK_SOCK_DIAG (EPROTONOSUPPORT) or refuses it. */
  static open(): SockDiag {
    return new SockDiag(NetlinkSocket.open(NETLINK_SOCK_DIAG));
  }

  /**
   * The TCP sockets in `states` (a bit mask of TCP states; default every state worth accounting);
   * `ipv6` false skips the AF_INET6 dump (kernels built without IPv6 answer it with an error).
   */
  dumpTcp(ipv6 = true, states: number = DUMPED_STATES): DiagSocket[] {
    const out: DiagSocket[] = [];
    for (const family of ipv6 ? [AF_INET, AF_INET6] : [AF_INET]) {
      this.sock.dump(SOCK_DIAG_BY_FAMILY, buildInetDiagRequestBody(family, states), (msg) => {
        if (msg.type === SOCK_DIAG_BY_FAMILY) out.push(parseInetDiagMessage(msg.payload));
      });
    }
    return out;
  }

  close(): void {
    this.sock.close();
  }
}
