// Netlink framing and sock_diag / rtnetlink payload parsers on bytes built here (no kernel involved).
import { describe, expect, test } from "bun:test";
import {
  buildInetDiagRequestBody,
  formatAddress,
  formatEndpoint,
  parseInetDiagMessage,
  readFinalCounters,
  TCP_INFO_LEN_BYTES_SENT,
  type FinalCounters,
} from "../../../src/net/inet-diag.ts";
import { InterfaceResolver, parseAddressMessage, parseLinkMessage } from "../../../src/net/interface-addresses.ts";
import {
  buildNetlinkRequest,
  NetlinkParseError,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  parseAttributes,
  parseNetlinkError,
  parseNetlinkMessages,
} from "../../../src/net/netlink-message.ts";
import { socketInode } from "../../../src/net/socket-owners.ts";

// --- byte builders, independent of the code under test ---

function header(len: number, type: number, flags = 0, seq = 7, port = 0): number[] {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(port, 12);
  return [...b];
}

function attr(type: number, value: Uint8Array | number[]): number[] {
  const len = 4 + value.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  Buffer.from(value).copy(b, 4);
  return [...b];
}

interface DiagFields {
  family?: number;
  state?: number;
  sport?: number;
  dport?: number;
  src?: number[];
  dst?: number[];
  cookieLo?: number;
  cookieHi?: number;
  uid?: number;
  inode?: number;
}

function diagMsg(f: DiagFields): number[] {
  const b = Buffer.alloc(72);
  b[0] = f.family ?? 2;
  b[1] = f.state ?? 1;
  b.writeUInt16BE(f.sport ?? 0, 4);
  b.writeUInt16BE(f.dport ?? 0, 6);
  Buffer.from(f.src ?? [127, 0, 0, 1]).copy(b, 8);
  Buffer.from(f.dst ?? [127, 0, 0, 1]).copy(b, 24);
  b.writeUInt32LE(f.cookieLo ?? 0, 44);
  b.writeUInt32LE(f.cookieHi ?? 0, 48);
  b.writeUInt32LE(f.uid ?? 0, 64);
  b.writeUInt32LE(f.inode ?? 0, 68);
  return [...b];
}

/** tcp_info of `len` bytes with bytes_acked@120, bytes_received@128, bytes_sent@200, bytes_retrans@208 where they fit. */
function tcpInfo(len: number, acked: bigint, received: bigint, sent: bigint, retrans = 0n): Uint8Array {
  const b = Buffer.alloc(len);
  if (len >= 128) b.writeBigUInt64LE(acked, 120);
  if (len >= 136) b.writeBigUInt64LE(received, 128);
  if (len >= 208) b.writeBigUInt64LE(sent, 200);
  if (len >= 216) b.writeBigUInt64LE(retrans, 208);
  return b;
}

const u8 = (a: number[]) => new Uint8Array(a);

describe("netlink framing", () => {
  test("splits a datagram into aligned messages", () => {
    const first = [...header(16 + 5, 20), 1, 2, 3, 4, 5, 0, 0, 0]; // 21 bytes + 3 padding
    const second = header(16, 3, 2, 9, 1234);
    const msgs = parseNetlinkMessages(u8([...first, ...second]));
    expect(msgs.map((m) => [m.type, m.flags, m.seq, m.portId, [...m.payload]])).toEqual([
      [20, 0, 7, 0, [1, 2, 3, 4, 5]],
      [3, 2, 9, 1234, []],
    ]);
  });

  test("rejects a truncated header, a length shorter than the header and one past the end", () => {
    expect(() => parseNetlinkMessages(u8(header(16, 3).slice(0, 10)))).toThrow(/10 bytes left, a header needs 16/);
    expect(() => parseNetlinkMessages(u8(header(8, 3)))).toThrow(/length 8 is shorter than its header/);
    expect(() => parseNetlinkMessages(u8([...header(100, 20), 0, 0, 0, 0]))).toThrow(/length 100 exceeds the 20 bytes left/);
    expect(() => parseNetlinkMessages(u8(header(8, 3)))).toThrow(NetlinkParseError);
  });

  test("attributes: parsed with flag bits stripped; truncated or oversized ones rejected", () => {
    const payload = u8([9, 9, 9, 9, ...attr(2 | 0x8000, [1, 2, 3]), ...attr(5, [7, 7, 7, 7])]);
    const attrs = parseAttributes(payload, 4);
    expect([...attrs.keys()]).toEqual([2, 5]);
    expect([...attrs.get(2)!]).toEqual([1, 2, 3]);
    expect(() => parseAttributes(u8([8, 0, 2, 0, 1, 2]), 0)).toThrow(/length 8 exceeds the 6 bytes left/);
    expect(() => parseAttributes(u8([2, 0, 2, 0]), 0)).toThrow(/length 2 is shorter than its header/);
    expect(() => parseAttributes(u8([4, 0, 2, 0, 1, 2]), 0)).toThrow(/2 bytes left, an attribute header needs 4/);
  });

  test("NLMSG_ERROR carries a negative errno; a short one is rejected", () => {
    const b = Buffer.alloc(20);
    b.writeInt32LE(-1, 0);
    expect(parseNetlinkError(b)).toBe(-1);
    expect(() => parseNetlinkError(u8([1, 2]))).toThrow(/needs at least 4/);
  });

  test("a request is header + body with the length filled in", () => {
    const req = buildNetlinkRequest(20, NLM_F_REQUEST | NLM_F_DUMP, 42, buildInetDiagRequestBody(10));
    const b = Buffer.from(req);
    expect(b.length).toBe(72);
    expect([b.readUInt32LE(0), b.readUInt16LE(4), b.readUInt16LE(6), b.readUInt32LE(8)]).toEqual([72, 20, 0x301, 42]);
    // AF_INET6, TCP, INFO, every state but TIME-WAIT (6) and NEW-SYN-RECV (12)
    expect([b[16], b[17], b[18], b.readUInt32LE(20)]).toEqual([10, 6, 2, 0xffffefbf]);
    expect(b.subarray(24).every((x) => x === 0)).toBe(true);
  });
});

describe("inet_diag_msg", () => {
  test("IPv4 fields, a cookie above 2^32, and sent bytes (bytes_sent less retransmits) from a modern tcp_info", () => {
    const payload = u8([
      ...diagMsg({ state: 1, sport: 45001, dport: 42370, src: [10, 1, 2, 3], dst: [192, 168, 168, 14], cookieLo: 5, cookieHi: 2, uid: 1000, inode: 23006 }),
      ...attr(2, tcpInfo(280, 52428801n, 1234n, 52428800n + 4096n, 4096n)),
    ]);
    expect(parseInetDiagMessage(payload)).toEqual({
      family: 2,
      state: 1,
      localAddr: "10.1.2.3",
      localPort: 45001,
      remoteAddr: "192.168.168.14",
      remotePort: 42370,
      cookie: 2 * 2 ** 32 + 5,
      uid: 1000,
      inode: 23006,
      infoLength: 280,
      bytesReceived: 1234,
      bytesSent: 52428800,
    });
  });

  test("tcp_info without bytes_sent/bytes_retrans (4.1..4.18): tx is bytes_acked minus the SYN", () => {
    const s = parseInetDiagMessage(u8([...diagMsg({}), ...attr(2, tcpInfo(TCP_INFO_LEN_BYTES_SENT - 24, 1001n, 500n, 0n))]));
    expect([s.bytesReceived, s.bytesSent, s.infoLength]).toEqual([500, 1000, 192]);
  });

  test("3.10-sized tcp_info (104 B) and no INFO at all: no byte counters, not zeros", () => {
    const old = parseInetDiagMessage(u8([...diagMsg({}), ...attr(2, tcpInfo(104, 0n, 0n, 0n))]));
    expect([old.bytesReceived, old.bytesSent, old.infoLength]).toEqual([null, null, 104]);
    const none = parseInetDiagMessage(u8(diagMsg({ state: 6 })));
    expect([none.bytesReceived, none.infoLength, none.state]).toEqual([null, 0, 6]);
  });

  test("IPv6 addresses", () => {
    const local = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const loop = [...Array(15).fill(0), 1];
    const s = parseInetDiagMessage(u8(diagMsg({ family: 10, src: local, dst: loop, sport: 443, dport: 50000 })));
    expect([s.localAddr, s.remoteAddr]).toEqual(["2001:db8::1", "::1"]);
    expect(formatEndpoint(s.localAddr, s.localPort)).toBe("[2001:db8::1]:443");
  });

  test("short, unknown-family and truncated-attribute messages are rejected, not misread", () => {
    expect(() => parseInetDiagMessage(u8(diagMsg({}).slice(0, 71)))).toThrow(/inet_diag_msg of 71 bytes, needs 72/);
    expect(() => parseInetDiagMessage(u8(diagMsg({ family: 1 })))).toThrow(/unknown address family 1/);
    const full = [...diagMsg({}), ...attr(2, tcpInfo(280, 1n, 2n, 3n))];
    expect(() => parseInetDiagMessage(u8(full.slice(0, 72 + 100)))).toThrow(/attribute at offset 72: length 284 exceeds the 100 bytes left/);
    expect(() => parseInetDiagMessage(u8(full.slice(0, 74)))).toThrow(NetlinkParseError);
  });
});

describe("final counters read in place (destroy notifications)", () => {
  const scratch = (): FinalCounters => ({ cookie: -1, hasBytes: true, bytesReceived: -1, bytesSent: -1 });
  /** the payload placed at offset 24 of a larger buffer, as in a receive slot */
  const inSlot = (payload: number[]) => {
    const b = new Uint8Array(24 + payload.length + 8);
    b.set(payload, 24);
    return { dv: new DataView(b.buffer), start: 24, end: 24 + payload.length };
  };

  test("agree with parseInetDiagMessage on every tcp_info size, and the last INFO attribute wins", () => {
    const cases = [
      [...diagMsg({ cookieLo: 5, cookieHi: 2 }), ...attr(2, tcpInfo(280, 52428801n, 1234n, 52428800n + 4096n, 4096n))],
      [...diagMsg({ cookieLo: 9 }), ...attr(2, tcpInfo(TCP_INFO_LEN_BYTES_SENT - 24, 1001n, 500n, 0n))],
      [...diagMsg({ cookieLo: 10 }), ...attr(2, tcpInfo(104, 0n, 0n, 0n))],
      diagMsg({ family: 10, cookieLo: 11 }),
      [...diagMsg({ cookieLo: 12 }), ...attr(1, [1, 2, 3, 4]), ...attr(2, tcpInfo(280, 1n, 1n, 1n)), ...attr(2, tcpInfo(280, 8n, 7n, 6n))],
    ];
    for (const payload of cases) {
      const full = parseInetDiagMessage(u8(payload));
      const { dv, start, end } = inSlot(payload);
      const c = readFinalCounters(dv, start, end, scratch());
      expect(c).toEqual({
        cookie: full.cookie,
        hasBytes: full.bytesReceived !== null,
        bytesReceived: full.bytesReceived ?? 0,
        bytesSent: full.bytesSent ?? 0,
      });
    }
  });

  test("rejects what parseInetDiagMessage rejects", () => {
    const full = [...diagMsg({}), ...attr(2, tcpInfo(280, 1n, 2n, 3n))];
    for (const bad of [diagMsg({}).slice(0, 71), diagMsg({ family: 1 }), full.slice(0, 72 + 100), full.slice(0, 74)]) {
      expect(() => parseInetDiagMessage(u8(bad))).toThrow(NetlinkParseError);
      const { dv, start, end } = inSlot(bad);
      expect(() => readFinalCounters(dv, start, end, scratch())).toThrow(NetlinkParseError);
    }
  });
});

describe("addresses", () => {
  const v6 = (words: number[]) => u8(words.flatMap((w) => [w >> 8, w & 0xff]));
  test.each([
    [[0, 0, 0, 0, 0, 0, 0, 0], "::"],
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"],
    [[0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], "2001:db8:0:1::1"],
    [[0xfe80, 0, 0, 0, 0xfc, 0xff, 0xfe00, 1], "fe80::fc:ff:fe00:1"],
    [[1, 2, 3, 4, 5, 6, 7, 8], "1:2:3:4:5:6:7:8"],
    [[0, 0, 0, 0, 0, 0xffff, 0x7f00, 1], "::ffff:127.0.0.1"],
  ])("IPv6 %p → %s", (words, text) => {
    expect(formatAddress(10, v6(words))).toBe(text);
  });

  test("interface by local address; loopback and traffic between two local addresses go to lo", () => {
    const r = new InterfaceResolver(
      [
        { interface: "lo", address: "127.0.0.1" },
        { interface: "eth0", address: "10.213.0.1" },
        { interface: "eth1", address: "fd00::2" },
      ],
      "lo",
    );
    expect(r.interfaceOf("10.213.0.1", "10.213.0.2")).toBe("eth0");
    expect(r.interfaceOf("::ffff:10.213.0.1", "::ffff:10.213.0.9")).toBe("eth0");
    expect(r.interfaceOf("fd00::2", "fd00::9")).toBe("eth1");
    expect(r.interfaceOf("127.0.0.1", "127.0.0.1")).toBe("lo");
    expect(r.interfaceOf("::1", "::1")).toBe("lo");
    expect(r.interfaceOf("10.213.0.1", "fd00::2")).toBe("lo"); // the remote end is this host
    expect(r.interfaceOf("192.0.2.7", "192.0.2.8")).toBeNull();
  });

  test("socket link targets", () => {
    expect(socketInode("socket:[23006]")).toBe(23006);
    expect(socketInode("pipe:[23006]")).toBeNull();
    expect(socketInode("socket:[]")).toBeNull();
    expect(socketInode("/dev/null")).toBeNull();
  });
});

describe("rtnetlink payloads", () => {
  function link(index: number, flags: number, name: string | null): Uint8Array {
    const b = Buffer.alloc(16);
    b.writeInt32LE(index, 4);
    b.writeUInt32LE(flags, 8);
    return u8([...b, ...(name === null ? [] : attr(3, [...Buffer.from(name), 0]))]);
  }
  function addr(family: number, index: number, attrs: number[]): Uint8Array {
    const b = Buffer.alloc(8);
    b[0] = family;
    b.writeUInt32LE(index, 4);
    return u8([...b, ...attrs]);
  }

  test("links: index, name, loopback flag; a link without a name or a short header is rejected", () => {
    expect(parseLinkMessage(link(1, 0x49, "lo"))).toEqual({ index: 1, name: "lo", loopback: true });
    expect(parseLinkMessage(link(7, 0x1003, "veth-a"))).toEqual({ index: 7, name: "veth-a", loopback: false });
    expect(() => parseLinkMessage(link(7, 0, null))).toThrow(/without IFLA_IFNAME/);
    expect(() => parseLinkMessage(u8([1, 2, 3]))).toThrow(/ifinfomsg of 3 bytes/);
  });

  test("addresses: IFA_LOCAL preferred over the peer's IFA_ADDRESS; bad sizes rejected; other families skipped", () => {
    expect(parseAddressMessage(addr(2, 3, [...attr(1, [10, 0, 0, 9]), ...attr(2, [10, 0, 0, 1])]))).toEqual({ index: 3, address: "10.0.0.1" });
    expect(parseAddressMessage(addr(10, 4, attr(1, [0xfd, 0, ...Array(13).fill(0), 2])))).toEqual({ index: 4, address: "fd00::2" });
    expect(() => parseAddressMessage(addr(2, 3, attr(2, [10, 0, 0])))).toThrow(/address attribute of 3 bytes for family 2/);
    expect(parseAddressMessage(addr(17, 3, []))).toBeNull();
    expect(() => parseAddressMessage(u8([2, 24]))).toThrow(/ifaddrmsg of 2 bytes/);
  });
});
