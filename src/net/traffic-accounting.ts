// Turns successive socket dumps (+ destroy notifications) into bytes per socket, process, listening port and
// interface over each window. Pure: no I/O, so every rule below has a unit test.
//
// Accounting rules:
// - tcp_info counters cover a socket's whole life, so each socket (keyed by its cookie) counts the delta
//   from what was already counted for it.
// - The first window only primes: sockets that exist when the agent starts count nothing for it.
//   After that, a socket not seen before was created during the window, so its whole life counts.
// - A destroyed socket (notification) counts its final counters minus what was already counted, for the
//   process last seen owning it. If no dump ever saw it (opened and closed inside one window) or its owner
//   was never found, it goes to the process owning the LISTEN socket on its local port (the server side of
//   an accepted connection); the client side of such a connection has no known process (pid null).
// - Loopback traffic appears at both ends: the sender's tx and the receiver's rx. Each direction is counted
//   once, which matches lo's /proc/net/dev (every byte once in tx and once in rx).
import { TCP_LISTEN, formatEndpoint, type DiagSocket } from "./inet-diag.ts";

/** Bytes moved by one socket during the window. */
export interface SocketTraffic {
  cookie: number;
  pid: number | null;
  local: string;
  remote: string;
  localPort: number;
  interface: string | null;
  rxBytes: number;
  txBytes: number;
  /** destroyed during the window */
  closed: boolean;
}

export interface ListenPortTraffic {
  port: number;
  pid: number | null;
  connections: number;
  rxBytes: number;
  txBytes: number;
}

export interface WindowTraffic {
  /** false for the priming window */
  primed: boolean;
  sockets: SocketTraffic[];
  byPid: Map<number, { rxBytes: number; txBytes: number }>;
  listenPorts: ListenPortTraffic[];
  byInterface: Map<string, { rxBytes: number; txBytes: number }>;
}

export interface WindowInput {
  /** the dump at the end of the window */
  sockets: readonly DiagSocket[];
  /** destroy notifications received since the previous window (empty when unsubscribed) */
  destroyed: readonly DiagSocket[];
  /** socket inode → pid */
  owners: ReadonlyMap<number, number>;
  interfaceOf: (localAddr: string, remoteAddr: string) => string | null;
}

interface SocketState {
  pid: number | null;
  rx: number;
  tx: number;
  lastSeen: number;
}

export class TrafficAccounting {
  private readonly state = new Map<number, SocketState>();
  /** listening port → pid, from the previous window, for sockets destroyed after their listener closed */
  private previousListeners = new Map<number, number | null>();
  private window = 0;

  /**
   * @param keepUnseenWindows how long a socket missing from dumps keeps its counted bytes, waiting for its
   *   destroy notification (which the kernel sends from a work queue, a little after the close). Set 0 when
   *   notifications are off: a socket missing from the dump is gone for good.
   */
  constructor(private readonly keepUnseenWindows = 2) {}

  /** Whether this socket's process matters now: listeners, and sockets new or with bytes since last counted. */
  ownerNeeded(s: DiagSocket): boolean {
    if (s.inode === 0) return false;
    if (s.state === TCP_LISTEN) return true;
    if (s.bytesReceived === null || s.bytesSent === null) return false;
    const prev = this.state.get(s.cookie);
    return !prev || prev.pid === null || prev.rx !== s.bytesReceived || prev.tx !== s.bytesSent;
  }

  /**
   * Whether a destroy notification with these final counters would credit any bytes: only when they are above
   * what was counted for the socket (zero for a socket never counted). The others change nothing but the
   * forgetting of the socket, which its absence from the next dumps does anyway, so a flood of connections
   * that move nothing can be dropped unparsed.
   */
  destroyCounts(c: { cookie: number; hasBytes: boolean; bytesReceived: number; bytesSent: number }): boolean {
    if (!c.hasBytes) return false;
    const prev = this.state.get(c.cookie);
    return prev ? c.bytesReceived > prev.rx || c.bytesSent > prev.tx : c.bytesReceived > 0 || c.bytesSent > 0;
  }

  next(input: WindowInput): WindowTraffic {
    const w = ++this.window;
    const priming = w === 1;
    const listeners = new Map<number, number | null>();
    for (const s of input.sockets) {
      if (s.state !== TCP_LISTEN) continue;
      const pid = input.owners.get(s.inode) ?? null;
      if (!listeners.has(s.localPort) || listeners.get(s.localPort) === null) listeners.set(s.localPort, pid);
    }
    const listenerPid = (port: number): number | null => listeners.get(port) ?? this.previousListeners.get(port) ?? null;

    const traffic = new Map<number, SocketTraffic>();
    const account = (s: DiagSocket, closed: boolean): void => {
      if (s.state === TCP_LISTEN || s.bytesReceived === null || s.bytesSent === null) return;
      const prev = this.state.get(s.cookie);
      const ownerPid = (s.inode !== 0 ? input.owners.get(s.inode) : undefined) ?? prev?.pid ?? null;
      let rx = 0;
      let tx = 0;
      if (prev) {
        // a counter below what was counted can only mean a reused cookie: count nothing, restart from here
        rx = Math.max(0, s.bytesReceived - prev.rx);
        tx = Math.max(0, s.bytesSent - prev.tx);
      } else if (!priming) {
        rx = s.bytesReceived;
        tx = s.bytesSent;
      }
      if (closed) this.state.delete(s.cookie);
      else this.state.set(s.cookie, { pid: ownerPid, rx: s.bytesReceived, tx: s.bytesSent, lastSeen: w });
      if (priming || (closed && rx === 0 && tx === 0)) return;
      const seen = traffic.get(s.cookie); // dumped and destroyed in the same window: one connection
      if (seen) {
        seen.rxBytes += rx;
        seen.txBytes += tx;
        seen.closed = closed;
        return;
      }
      traffic.set(s.cookie, {
        cookie: s.cookie,
        pid: ownerPid ?? listenerPid(s.localPort),
        local: formatEndpoint(s.localAddr, s.localPort),
        remote: formatEndpoint(s.remoteAddr, s.remotePort),
        localPort: s.localPort,
        interface: input.interfaceOf(s.localAddr, s.remoteAddr),
        rxBytes: rx,
        txBytes: tx,
        closed,
      });
    };
    for (const s of input.sockets) account(s, false);
    for (const s of input.destroyed) account(s, true);

    for (const [cookie, st] of this.state) if (w - st.lastSeen > this.keepUnseenWindows) this.state.delete(cookie);
    this.previousListeners = listeners;
    return summarize(!priming, [...traffic.values()], listeners);
  }
}

function summarize(primed: boolean, sockets: SocketTraffic[], listeners: Map<number, number | null>): WindowTraffic {
  const byPid = new Map<number, { rxBytes: number; txBytes: number }>();
  const byInterface = new Map<string, { rxBytes: number; txBytes: number }>();
  const ports = new Map<number, ListenPortTraffic>();
  for (const [port, pid] of listeners) ports.set(port, { port, pid, connections: 0, rxBytes: 0, txBytes: 0 });
  const add = <K>(m: Map<K, { rxBytes: number; txBytes: number }>, k: K, s: SocketTraffic) => {
    const t = m.get(k) ?? { rxBytes: 0, txBytes: 0 };
    t.rxBytes += s.rxBytes;
    t.txBytes += s.txBytes;
    m.set(k, t);
  };
  for (const s of sockets) {
    if (s.pid !== null) add(byPid, s.pid, s);
    if (s.interface !== null) add(byInterface, s.interface, s);
    const lp = ports.get(s.localPort);
    if (lp) {
      lp.connections++;
      lp.rxBytes += s.rxBytes;
      lp.txBytes += s.txBytes;
    }
  }
  return { primed, sockets, byPid, listenPorts: [...ports.values()], byInterface };
}
