// The accounting rules of src/net/traffic-accounting.ts on hand-made socket dumps.
import { describe, expect, test } from "bun:test";
import type { DiagSocket } from "../../../src/net/inet-diag.ts";
import { TrafficAccounting, type WindowInput } from "../../../src/net/traffic-accounting.ts";

const ESTAB = 1;
const LISTEN = 10;

function sock(cookie: number, inode: number, rx: number | null, tx: number | null, o: Partial<DiagSocket> = {}): DiagSocket {
  return {
    family: 2,
    state: ESTAB,
    localAddr: "10.0.0.1",
    localPort: 40000 + cookie,
    remoteAddr: "10.0.0.2",
    remotePort: 5432,
    cookie,
    inode,
    uid: 0,
    infoLength: rx === null ? 104 : 280,
    bytesReceived: rx,
    bytesSent: tx,
    ...o,
  };
}

function input(sockets: DiagSocket[], owners: [number, number][], destroyed: DiagSocket[] = []): WindowInput {
  return { sockets, destroyed, owners: new Map(owners), interfaceOf: (l) => (l.startsWith("127.") ? "lo" : l === "10.0.0.1" ? "eth0" : null) };
}

describe("traffic accounting", () => {
  test("the first window only primes; later windows count the growth of each socket", () => {
    const acc = new TrafficAccounting();
    const w1 = acc.next(input([sock(1, 101, 1000, 5000)], [[101, 7]]));
    expect(w1.primed).toBe(false);
    expect(w1.byPid.size).toBe(0);
    expect(w1.sockets).toEqual([]);
    const w2 = acc.next(input([sock(1, 101, 1500, 9000)], [[101, 7]]));
    expect(w2.byPid.get(7)).toEqual({ rxBytes: 500, txBytes: 4000 });
    expect(w2.byInterface.get("eth0")).toEqual({ rxBytes: 500, txBytes: 4000 });
    expect(w2.sockets[0]).toMatchObject({ pid: 7, local: "10.0.0.1:40001", remote: "10.0.0.2:5432", closed: false });
  });

  test("destroyCounts: a destroy notification matters only when its counters exceed what was counted", () => {
    const acc = new TrafficAccounting();
    const final = (cookie: number, rx: number, tx: number, hasBytes = true) => ({ cookie, hasBytes, bytesReceived: rx, bytesSent: tx });
    acc.next(input([sock(4, 104, 100, 200)], [[104, 9]]));
    expect(acc.destroyCounts(final(4, 100, 200))).toBe(false); // nothing since the dump: ignoring it loses nothing
    expect(acc.destroyCounts(final(4, 101, 200))).toBe(true);
    expect(acc.destroyCounts(final(4, 100, 201))).toBe(true);
    expect(acc.destroyCounts(final(5, 0, 0))).toBe(false); // never seen, moved nothing (a connection flood)
    expect(acc.destroyCounts(final(5, 1, 0))).toBe(true);
    expect(acc.destroyCounts(final(5, 50, 50, false))).toBe(false); // no byte counters on this kernel
    // and what it turned down would indeed have counted nothing
    const w = acc.next(input([], [], [sock(4, 0, 100, 200), sock(5, 0, 0, 0)]));
    expect(w.byPid.size).toBe(0);
    expect(w.sockets).toEqual([]);
  });

  test("a socket first seen after priming counts its whole life", () => {
    const acc = new TrafficAccounting();
    acc.next(input([], []));
    const w = acc.next(input([sock(2, 102, 300, 700)], [[102, 8]]));
    expect(w.byPid.get(8)).toEqual({ rxBytes: 300, txBytes: 700 });
  });

  test("a destroyed socket counts its final bytes minus what was counted, for the pid last seen", () => {
    const acc = new TrafficAccounting();
    acc.next(input([sock(3, 103, 100, 100)], [[103, 9]]));
    acc.next(input([sock(3, 103, 400, 100)], [[103, 9]]));
    // gone from the dump; the notification has inode 0
    const w = acc.next(input([], [], [sock(3, 0, 1000, 150)]));
    expect(w.byPid.get(9)).toEqual({ rxBytes: 600, txBytes: 50 });
    expect(w.sockets[0]?.closed).toBe(true);
  });

  test("dumped and destroyed in the same window: one connection, not double counted", () => {
    const acc = new TrafficAccounting();
    acc.next(input([], []));
    const w = acc.next(input([sock(4, 104, 100, 0)], [[104, 5]], [sock(4, 0, 250, 0)]));
    expect(w.sockets.length).toBe(1);
    expect(w.byPid.get(5)).toEqual({ rxBytes: 250, txBytes: 0 });
  });

  test("a socket never dumped goes to the owner of the listener on its local port, else to no process", () => {
    const acc = new TrafficAccounting();
    const listener = sock(10, 110, 0, 0, { state: LISTEN, localPort: 3306, remotePort: 0, remoteAddr: "0.0.0.0" });
    acc.next(input([listener], [[110, 42]]));
    const serverSide = sock(11, 0, 10_000, 20, { localPort: 3306, remotePort: 50000 });
    const clientSide = sock(12, 0, 5, 3000, { localPort: 50001, remotePort: 3306 });
    const w = acc.next(input([listener], [[110, 42]], [serverSide, clientSide]));
    expect(w.byPid.get(42)).toEqual({ rxBytes: 10_000, txBytes: 20 });
    expect(w.sockets.find((s) => s.cookie === 12)?.pid).toBeNull();
    expect(w.listenPorts).toEqual([{ port: 3306, pid: 42, connections: 1, rxBytes: 10_000, txBytes: 20 }]);
  });

  test("listening ports sum the connections accepted on them; IPv4 and IPv6 listeners of one port are one entry", () => {
    const acc = new TrafficAccounting();
    const l4 = sock(20, 120, 0, 0, { state: LISTEN, localPort: 80 });
    const l6 = sock(21, 121, 0, 0, { state: LISTEN, localPort: 80, family: 10, localAddr: "::" });
    acc.next(input([l4, l6], [[120, 3], [121, 3]]));
    const a = sock(22, 122, 100, 1000, { localPort: 80 });
    const b = sock(23, 123, 50, 500, { localPort: 80 });
    const other = sock(24, 124, 9, 9, { localPort: 81 });
    const w = acc.next(input([l4, l6, a, b, other], [[120, 3], [121, 3], [122, 3], [123, 3], [124, 3]]));
    expect(w.listenPorts).toEqual([{ port: 80, pid: 3, connections: 2, rxBytes: 150, txBytes: 1500 }]);
    expect(w.byPid.get(3)).toEqual({ rxBytes: 159, txBytes: 1509 });
  });

  test("a counter that went backwards (reused cookie) counts nothing and restarts", () => {
    const acc = new TrafficAccounting();
    acc.next(input([sock(5, 105, 1000, 1000)], [[105, 1]]));
    const w = acc.next(input([sock(5, 105, 10, 10)], [[105, 1]]));
    expect(w.byPid.get(1)).toEqual({ rxBytes: 0, txBytes: 0 });
    expect(acc.next(input([sock(5, 105, 30, 10)], [[105, 1]])).byPid.get(1)).toEqual({ rxBytes: 20, txBytes: 0 });
  });

  test("without byte counters (old kernels) nothing is counted, and listeners are still listed", () => {
    const acc = new TrafficAccounting();
    const l = sock(30, 130, null, null, { state: LISTEN, localPort: 22 });
    acc.next(input([l, sock(31, 131, null, null)], [[130, 1], [131, 1]]));
    const w = acc.next(input([l, sock(31, 131, null, null)], [[130, 1], [131, 1]]));
    expect(w.byPid.size).toBe(0);
    expect(w.listenPorts.map((p) => p.port)).toEqual([22]);
  });

  test("a socket missing from dumps keeps its count for the late notification, then is forgotten", () => {
    const acc = new TrafficAccounting(2);
    acc.next(input([sock(6, 106, 100, 0)], [[106, 4]]));
    acc.next(input([], [])); // closed, notification still in the kernel's work queue
    const late = acc.next(input([], [], [sock(6, 0, 130, 0)]));
    expect(late.byPid.get(4)).toEqual({ rxBytes: 30, txBytes: 0 });

    const noEvents = new TrafficAccounting(0);
    noEvents.next(input([sock(7, 107, 100, 0)], [[107, 4]]));
    noEvents.next(input([], []));
    // forgotten at once: the same cookie appearing again is a new socket, counted whole
    expect(noEvents.next(input([sock(7, 107, 100, 0)], [[107, 4]])).byPid.get(4)).toEqual({ rxBytes: 100, txBytes: 0 });
  });

  test("the pid comes from the inode map and is remembered once the inode is gone (orphaned sockets)", () => {
    const acc = new TrafficAccounting();
    acc.next(input([sock(8, 108, 0, 0)], [[108, 11]]));
    const w = acc.next(input([sock(8, 0, 0, 800)], []));
    expect(w.byPid.get(11)).toEqual({ rxBytes: 0, txBytes: 800 });
  });

  test("a socket's owner is needed for listeners and for sockets that are new or moved bytes, not for idle ones", () => {
    const acc = new TrafficAccounting();
    const idle = sock(40, 140, 10, 10);
    const busy = sock(41, 141, 10, 10);
    acc.next(input([idle, busy], [[140, 1], [141, 1]]));
    expect(acc.ownerNeeded(sock(40, 140, 10, 10))).toBe(false);
    expect(acc.ownerNeeded(sock(41, 141, 11, 10))).toBe(true);
    expect(acc.ownerNeeded(sock(42, 142, 0, 0))).toBe(true); // new
    expect(acc.ownerNeeded(sock(43, 143, 0, 0, { state: LISTEN }))).toBe(true);
    expect(acc.ownerNeeded(sock(44, 0, 5, 5))).toBe(false); // no file: nothing to look up
    expect(acc.ownerNeeded(sock(45, 145, null, null))).toBe(false); // no counters: no rates to attribute
  });
});
