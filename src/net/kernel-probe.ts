// What this kernel and these privileges offer for TCP accounting, found once at agent start.
import { readlinkSync } from "node:fs";
import { AF_INET, EPERM, EACCES, getLibc, SOCK_CLOEXEC, SOCK_STREAM, SyscallError } from "../util/libc.ts";
import { DestroyListener } from "./destroy-listener.ts";
import { LISTEN_STATES, TCP_INFO_LEN_BYTES_RECEIVED, TCP_INFO_LEN_BYTES_SENT } from "./inet-diag.ts";
import { view } from "./netlink-message.ts";
import { SockDiag } from "./sock-diag.ts";
import { socketInode } from "./socket-owners.ts";

const DESTROY_CHECK_MS = 2000;

export interface NetCapabilities {
  sock_diag: boolean;
  /** bytes of tcp_info the kernel sends (104 on 3.10, 280+ on 6.x); 0 when unknown */
  tcp_info_len: number;
  /** tcp_info has bytes_received (Linux 4.1+): per-process byte rates are possible */
  tcp_bytes: boolean;
  /** tcp_info has bytes_sent and bytes_retrans (Linux 4.19+); without them tx comes from bytes_acked */
  tcp_bytes_sent: boolean;
  tcp_ipv6: boolean;
  /** subscribed to socket-destroy notifications (needs CAP_NET_ADMIN, Linux 4.9+) */
  tcp_destroy_events: boolean;
}

export interface ProbeResult {
  capabilities: NetCapabilities;
  diag: SockDiag | null;
  destroy: DestroyListener | null;
  /** why something is off, for the one start-up log line */
  notes: string[];
}

/** How the probe opens its sockets; tests replace these to play an old kernel or a missing privilege. */
export interface KernelOpeners {
  openDiag?: () => SockDiag;
  openDestroy?: () => DestroyListener;
}

/** Opens what can be opened and says what works. Never throws for a missing feature. */
export function probeKernel(wantDestroyEvents: boolean, openers: KernelOpeners = {}): ProbeResult {
  const caps: NetCapabilities = {
    sock_diag: false,
    tcp_info_len: 0,
    tcp_bytes: false,
    tcp_bytes_sent: false,
    tcp_ipv6: false,
    tcp_destroy_events: false,
  };
  const notes: string[] = [];
  let diag: SockDiag | null = null;
  try {
    diag = (openers.openDiag ?? SockDiag.open)();
    caps.sock_diag = true;
  } catch (e) {
    notes.push(`NETLINK_SOCK_DIAG unavailable (${message(e)}): no per-process network`);
    return { capabilities: caps, diag: null, destroy: null, notes };
  }
  // subscribe before the probe listener closes: its destroy notification proves that they arrive
  let destroy: DestroyListener | null = null;
  if (wantDestroyEvents) {
    try {
      destroy = (openers.openDestroy ?? DestroyListener.open)();
    } catch (e) {
      const denied = e instanceof SyscallError && (e.errno === EPERM || e.errno === EACCES);
      notes.push(
        denied
          ? "socket-destroy notifications need CAP_NET_ADMIN on this kernel (run as root): connections closed between samples are missed"
          : `socket-destroy notifications unavailable (${message(e)}): connections closed between samples are missed`,
      );
    }
  }
  const probe = openProbeListener();
  let probePort: number | null = null;
  try {
    // listeners carry the same tcp_info as connections, and dumping only them skips every connection
    const sockets = diag.dumpTcp(false, LISTEN_STATES);
    caps.tcp_info_len = Math.max(0, ...sockets.map((s) => s.infoLength));
    if (probe) probePort = sockets.find((s) => s.inode === probe.inode)?.localPort ?? null;
  } catch (e) {
    notes.push(`TCP socket dump failed (${message(e)})`);
  } finally {
    if (probe !== null) getLibc().close(probe.fd);
  }
  caps.tcp_bytes = caps.tcp_info_len >= TCP_INFO_LEN_BYTES_RECEIVED;
  caps.tcp_bytes_sent = caps.tcp_info_len >= TCP_INFO_LEN_BYTES_SENT;
  if (!caps.tcp_bytes) notes.push(`tcp_info has no byte counters (${caps.tcp_info_len} B; needs Linux 4.1+): connections counted, bytes not`);
  else if (!caps.tcp_bytes_sent) notes.push("tcp_info has no bytes_sent (Linux < 4.19): tx from bytes_acked");
  try {
    diag.dumpTcp(true, LISTEN_STATES);
    caps.tcp_ipv6 = true;
  } catch (e) {
    notes.push(`IPv6 TCP dump failed (${message(e)}): IPv4 only`);
  }
  // Kernels before 4.9 accept the subscription but never send anything: wait for the probe's notification.
  if (destroy && probePort !== null && !sawDestroyOf(destroy, probePort)) {
    destroy.close();
    destroy = null;
    notes.push("no socket-destroy notification arrived for a probe socket (needs Linux 4.9+): connections closed between samples are missed");
  }
  // only now: the probe waited for the notification of a listener, which moved no bytes
  if (destroy && !destroy.filterZeroBytes()) notes.push("the kernel refused the destroy-notification filter: the agent reads every one");
  caps.tcp_destroy_events = destroy !== null;
  return { capabilities: caps, diag, destroy, notes };
}

/** A TCP listener on 127.0.0.1, port chosen by the kernel, so the dump has at least one socket to measure. */
function openProbeListener(): { fd: number; inode: number } | null {
  const libc = getLibc();
  const fd = libc.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return null;
  const addr = new Uint8Array(16); // sockaddr_in: family, port 0 (any), 127.0.0.1
  view(addr).setUint16(0, AF_INET, true);
  addr.set([127, 0, 0, 1], 4);
  if (libc.bind(fd, addr, addr.length) !== 0 || libc.listen(fd, 1) !== 0) {
    libc.close(fd);
    return null;
  }
  let inode = 0;
  try {
    inode = socketInode(readlinkSync(`/proc/self/fd/${fd}`)) ?? 0;
  } catch {
    // no /proc: the probe still gives the tcp_info length, just not the destroy check
  }
  return { fd, inode };
}

/** Waits (up to DESTROY_CHECK_MS, the kernel sends from a work queue) for the notification of the probe listener. */
function sawDestroyOf(destroy: DestroyListener, port: number): boolean {
  const deadline = performance.now() + DESTROY_CHECK_MS;
  for (;;) {
    if (destroy.drain().sockets.some((s) => s.localPort === port && s.localAddr === "127.0.0.1")) return true;
    if (performance.now() > deadline) return false;
    Bun.sleepSync(5);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
