// Which interface carries a socket's traffic, judged by its local address. Addresses come from rtnetlink
// (RTM_GETLINK for names, RTM_GETADDR for IPv4 and IPv6 addresses) of the agent's network namespace.
import { AF_INET, AF_INET6 } from "../util/libc.ts";
import { formatAddress } from "./inet-diag.ts";
import { NetlinkParseError, parseAttributes, view } from "./netlink-message.ts";
import { NetlinkSocket } from "./netlink-socket.ts";

const NETLINK_ROUTE = 0;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;
const IFLA_IFNAME = 3;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const IFF_LOOPBACK = 0x8;

/** One interface address as rtnetlink reports it. */
export interface InterfaceAddress {
  interface: string;
  address: string;
}

/** Parses an RTM_NEWLINK payload → [ifindex, name, isLoopback]. */
export function parseLinkMessage(payload: Uint8Array): { index: number; name: string; loopback: boolean } {
  if (payload.length < IFINFOMSG_LEN) throw new NetlinkParseError(`ifinfomsg of ${payload.length} bytes, needs ${IFINFOMSG_LEN}`);
  const dv = view(payload);
  const nameBytes = parseAttributes(payload, IFINFOMSG_LEN).get(IFLA_IFNAME);
  if (!nameBytes) throw new NetlinkParseError("RTM_NEWLINK without IFLA_IFNAME");
  const end = nameBytes.indexOf(0);
  return {
    index: dv.getInt32(4, true),
    name: new TextDecoder().decode(end < 0 ? nameBytes : nameBytes.subarray(0, end)),
    loopback: (dv.getUint32(8, true) & IFF_LOOPBACK) !== 0,
  };
}

/** Parses an RTM_NEWADDR payload → the interface index and the local address. */
export function parseAddressMessage(payload: Uint8Array): { index: number; address: string } | null {
  if (payload.length < IFADDRMSG_LEN) throw new NetlinkParseError(`ifaddrmsg of ${payload.length} bytes, needs ${IFADDRMSG_LEN}`);
  const dv = view(payload);
  const family = dv.getUint8(0);
  const size = family === AF_INET ? 4 : family === AF_INET6 ? 16 : 0;
  if (size === 0) return null;
  const attrs = parseAttributes(payload, IFADDRMSG_LEN);
  // on point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours
  const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (!raw) return null;
  if (raw.length !== size) throw new NetlinkParseError(`address attribute of ${raw.length} bytes for family ${family}`);
  return { index: dv.getUint32(4, true), address: formatAddress(family, raw) };
}

/** Reads the addresses of every interface in this network namespace. */
export function readInterfaceAddresses(): { addresses: InterfaceAddress[]; loopback: string } {
  const sock = NetlinkSocket.open(NETLINK_ROUTE);
  try {
    const names = new Map<number, string>();
    let loopback = "lo";
    sock.dump(RTM_GETLINK, new Uint8Array(IFINFOMSG_LEN), (msg) => {
      if (msg.type !== RTM_NEWLINK) return;
      const link = parseLinkMessage(msg.payload);
      names.set(link.index, link.name);
      if (link.loopback) loopback = link.name;
    });
    const addresses: InterfaceAddress[] = [];
    sock.dump(RTM_GETADDR, new Uint8Array(IFADDRMSG_LEN), (msg) => {
      if (msg.type !== RTM_NEWADDR) return;
      const a = parseAddressMessage(msg.payload);
      const name = a && names.get(a.index);
      if (a && name) addresses.push({ interface: name, address: a.address });
    });
    return { addresses, loopback };
  } finally {
    sock.close();
  }
}

/** Maps sockets to interfaces by address. Traffic between two local addresses goes over loopback. */
export class InterfaceResolver {
  private readonly byAddress = new Map<string, string>();

  constructor(
    addresses: InterfaceAddress[],
    private readonly loopback: string,
  ) {
    for (const a of addresses) this.byAddress.set(a.address, a.interface);
  }

  /** The interface of a socket, or null for an address no interface holds (e.g. a wildcard listener). */
  interfaceOf(localAddr: string, remoteAddr: string): string | null {
    const local = unmapIpv4(localAddr);
    const remote = unmapIpv4(remoteAddr);
    if (isLoopbackAddress(local) || isLoopbackAddress(remote) || this.byAddress.has(remote)) return this.loopback;
    return this.byAddress.get(local) ?? null;
  }
}

function unmapIpv4(addr: string): string {
  return addr.startsWith("::ffff:") && addr.includes(".") ? addr.slice(7) : addr;
}

function isLoopbackAddress(addr: string): boolean {
  return addr === "::1" || addr.startsWith("127.");
}
