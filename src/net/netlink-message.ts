// Netlink framing: nlmsghdr and rtattr, parsed strictly so a short or corrupt buffer is rejected, never misread.
// Netlink uses the host's byte order (little-endian on every platform pmon ships for).

const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;

/** A message or attribute that does not fit its buffer or breaks the framing rules. */
export class NetlinkParseError extends Error {
  override name = "NetlinkParseError";
}

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  portId: number;
  /** the bytes after the 16-byte header, a view into the receive buffer (copy what you keep) */
  payload: Uint8Array;
}

export const align4 = (n: number): number => (n + 3) & ~3;

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Splits one received datagram into its netlink messages. */
export function parseNetlinkMessages(bytes: Uint8Array): NetlinkMessage[] {
  const dv = view(bytes);
  const out: NetlinkMessage[] = [];
  walkNetlinkMessages(dv, 0, bytes.length, (type, start, end) => {
    const off = start - NLMSG_HDRLEN;
    out.push({
      type,
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      portId: dv.getUint32(off + 12, true),
      payload: bytes.subarray(start, end),
    });
  });
  return out;
}

/**
 * The messages of the datagram at `from`..`to` of `dv`, checked like parseNetlinkMessages but without an
 * object per message: `onMessage` gets the type and the payload's bounds (for readers of floods of records).
 */
export function walkNetlinkMessages(dv: DataView, from: number, to: number, onMessage: (type: number, start: number, end: number) => void): void {
  let off = from;
  while (off < to) {
    const left = to - off;
    if (left < NLMSG_HDRLEN) throw new NetlinkParseError(`netlink message at offset ${off - from}: ${left} bytes left, a header needs ${NLMSG_HDRLEN}`);
    const len = dv.getUint32(off, true);
    if (len < NLMSG_HDRLEN) throw new NetlinkParseError(`netlink message at offset ${off - from}: length ${len} is shorter than its header`);
    if (len > left) throw new NetlinkParseError(`netlink message at offset ${off - from}: length ${len} exceeds the ${left} bytes left`);
    onMessage(dv.getUint16(off + 4, true), off + NLMSG_HDRLEN, off + len);
    off += align4(len);
  }
}

/** The negative errno carried by an NLMSG_ERROR message (0 = acknowledgement). */
export function parseNetlinkError(payload: Uint8Array): number {
  if (payload.length < 4) throw new NetlinkParseError(`NLMSG_ERROR payload of ${payload.length} bytes, needs at least 4`);
  return view(payload).getInt32(0, true);
}

/** Walks the rtattr list that starts at `offset` of `payload`, checking every header; `onAttribute` gets the type (flag bits stripped) and value bounds. */
function walkAttributes(payload: Uint8Array, offset: number, onAttribute: (type: number, start: number, end: number) => void): void {
  const dv = view(payload);
  let off = offset;
  while (off < payload.length) {
    const left = payload.length - off;
    if (left < 4) throw new NetlinkParseError(`attribute at offset ${off}: ${left} bytes left, an attribute header needs 4`);
    const len = dv.getUint16(off, true);
    if (len < 4) throw new NetlinkParseError(`attribute at offset ${off}: length ${len} is shorter than its header`);
    if (len > left) throw new NetlinkParseError(`attribute at offset ${off}: length ${len} exceeds the ${left} bytes left`);
    // 0x3fff drops NLA_F_NESTED / NLA_F_NET_BYTEORDER
    onAttribute(dv.getUint16(off + 2, true) & 0x3fff, off + 4, off + len);
    off += align4(len);
  }
}

/** Parses the rtattr list that starts at `offset` of `payload`: type → value bytes. */
export function parseAttributes(payload: Uint8Array, offset: number): Map<number, Uint8Array> {
  const attrs = new Map<number, Uint8Array>();
  walkAttributes(payload, offset, (type, start, end) => attrs.set(type, payload.subarray(start, end)));
  return attrs;
}

/** The value of one attribute (the last of that type), after checking the whole list; no map is built. */
export function findAttribute(payload: Uint8Array, offset: number, wanted: number): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  walkAttributes(payload, offset, (type, start, end) => {
    if (type === wanted) found = payload.subarray(start, end);
  });
  return found;
}

/** A request: header + body, with the length filled in. */
export function buildNetlinkRequest(type: number, flags: number, seq: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(NLMSG_HDRLEN + body.length);
  const dv = view(out);
  dv.setUint32(0, out.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq, true);
  dv.setUint32(12, 0, true);
  out.set(body, NLMSG_HDRLEN);
  return out;
}
