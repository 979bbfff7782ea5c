// A netlink socket over libc: one-shot dumps (request → messages until NLMSG_DONE) and non-blocking drains.
import { ptr } from "bun:ffi";
import {
  AF_NETLINK,
  EAGAIN,
  EINTR,
  ENOBUFS,
  ENOSYS,
  errno,
  getLibc,
  MSG_DONTWAIT,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_RCVTIMEO,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SyscallError,
} from "../util/libc.ts";
import {
  buildNetlinkRequest,
  NetlinkParseError,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  parseNetlinkError,
  parseNetlinkMessages,
  view,
  walkNetlinkMessages,
  type NetlinkMessage,
} from "./netlink-message.ts";

const MSG_TRUNC = 0x20;
// The kernel sends dump parts of at most 32 KiB; a larger buffer never gets a truncated datagram.
const RECV_BUFFER_BYTES = 64 * 1024;
const DUMP_TIMEOUT_S = 5;
// A drain takes up to this many datagrams per recvmmsg(2): notifications (an exit record, a closed socket)
// come one per datagram, and one syscall per record was most of the cost of a burst of exits.
const BATCH_SLOTS = 64;
// Exit records and destroy notifications are under 1 KiB; a bigger datagram is reported as truncated.
const BATCH_SLOT_BYTES = 4096;
// struct iovec and struct mmsghdr on LP64 Linux (x86_64, arm64): msg_iov at 16, msg_iovlen at 24, msg_len at 56
const IOVEC_BYTES = 16;
const MMSGHDR_BYTES = 64;

/** recvmmsg's buffers: one slot per datagram, with the iovec and header arrays the kernel reads and fills. */
interface Batch {
  data: Uint8Array;
  dataView: DataView;
  iovecs: Uint8Array;
  headers: Uint8Array;
  headerView: DataView;
}

export interface NetlinkSocketOptions {
  /** multicast groups bitmask to join at bind (needs CAP_NET_ADMIN for sock_diag destroy groups) */
  groups?: number;
  nonBlocking?: boolean;
  /** receive buffer size; root may exceed net.core.rmem_max */
  receiveBufferBytes?: number;
}

export class NetlinkSocket {
  private readonly buffer = new Uint8Array(RECV_BUFFER_BYTES);
  private seq = Math.floor(Date.now() / 1000) & 0xffffff;
  private closed = false;
  /** undefined until the first drain; null when the kernel has no recvmmsg (one recv per datagram then) */
  private batch: Batch | null | undefined;

  private constructor(readonly fd: number) {}

  /** Opens and binds a netlink socket of `protocol`; throws SyscallError (errno kept) when the kernel refuses. */
  static open(protocol: number, opts: NetlinkSocketOptions = {}): NetlinkSocket {
    const libc = getLibc();
    const fd = libc.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | (opts.nonBlocking ? SOCK_NONBLOCK : 0), protocol);
    if (fd < 0) throw new SyscallError(`socket(AF_NETLINK, ${protocol})`, errno());
    const sock = new NetlinkSocket(fd);
    try {
      if (opts.receiveBufferBytes) sock.setReceiveBuffer(opts.receiveBufferBytes);
      if (!opts.nonBlocking) sock.setReceiveTimeout(DUMP_TIMEOUT_S);
      const addr = new Uint8Array(12); // sockaddr_nl: family, pad, port id (0 = kernel assigns), groups
      const dv = view(addr);
      dv.setUint16(0, AF_NETLINK, true);
      dv.setUint32(8, opts.groups ?? 0, true);
      if (libc.bind(fd, addr, addr.length) !== 0) throw new SyscallError("bind(netlink)", errno());
    } catch (e) {
      sock.close();
      throw e;
    }
    return sock;
  }

  private setReceiveBuffer(bytes: number): void {
    const v = new Int32Array([bytes]);
    // SO_RCVBUFFORCE ignores rmem_max but needs CAP_NET_ADMIN; fall back to the capped SO_RCVBUF
    if (getLibc().setsockopt(this.fd, SOL_SOCKET, SO_RCVBUFFORCE, v, 4) === 0) return;
    getLibc().setsockopt(this.fd, SOL_SOCKET, SO_RCVBUF, v, 4);
  }

  private setReceiveTimeout(seconds: number): void {
    const tv = new BigInt64Array([BigInt(seconds), 0n]); // struct timeval
    if (getLibc().setsockopt(this.fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16) !== 0) throw new SyscallError("setsockopt(SO_RCVTIMEO)", errno());
  }

  /**
   * Sends a dump request and hands each reply message to `onMessage` until NLMSG_DONE.
   * The payload is a view into a reused buffer: copy what you keep. An NLMSG_ERROR reply throws SyscallError.
   */
  dump(type: number, body: Uint8Array, onMessage: (msg: NetlinkMessage) => void): void {
    const seq = (this.seq = (this.seq + 1) & 0x7fffffff);
    const req = buildNetlinkRequest(type, NLM_F_REQUEST | NLM_F_DUMP, seq, body);
    const libc = getLibc();
    const sent = Number(libc.sendto(this.fd, req, req.length, 0, null, 0));
    if (sent < 0) throw new SyscallError("sendto(netlink)", errno());
    for (;;) {
      const n = this.receive(0);
      if (n === null) throw new SyscallError("recv(netlink dump)", EAGAIN);
      for (const msg of parseNetlinkMessages(this.buffer.subarray(0, n))) {
        if (msg.seq !== seq) continue; // a late reply to an earlier, abandoned request
        if (msg.type === NLMSG_DONE) return;
        if (msg.type === NLMSG_NOOP) continue;
        if (msg.type === NLMSG_ERROR) {
          const err = parseNetlinkError(msg.payload);
          if (err === 0) continue;
          throw new SyscallError(`netlink dump (type ${type})`, -err);
        }
        onMessage(msg);
      }
    }
  }

  /**
   * Sends one request that asks for an acknowledgement and hands each reply to `onMessage` until it arrives;
   * an error acknowledgement throws SyscallError. Messages that answer nothing of ours (notifications that
   * arrived meanwhile) go to `onOther`, so a subscriber loses none of them.
   */
  request(type: number, body: Uint8Array, onMessage: (msg: NetlinkMessage) => void, onOther?: (msg: NetlinkMessage) => void): void {
    const seq = (this.seq = (this.seq + 1) & 0x7fffffff);
    const req = buildNetlinkRequest(type, NLM_F_REQUEST | NLM_F_ACK, seq, body);
    const sent = Number(getLibc().sendto(this.fd, req, req.length, 0, null, 0));
    if (sent < 0) throw new SyscallError("sendto(netlink)", errno());
    for (;;) {
      const n = this.receive(0);
      if (n === null) throw new SyscallError(`netlink request (type ${type})`, EAGAIN);
      for (const msg of parseNetlinkMessages(this.buffer.subarray(0, n))) {
        if (msg.seq !== seq) {
          onOther?.(msg);
          continue;
        }
        if (msg.type === NLMSG_ERROR) {
          const err = parseNetlinkError(msg.payload);
          if (err === 0) return;
          throw new SyscallError(`netlink request (type ${type})`, -err);
        }
        onMessage(msg);
      }
    }
  }

  /**
   * Reads every datagram already queued without blocking. Returns false when the kernel dropped
   * messages because the receive buffer overflowed (ENOBUFS); the caller counts that.
   */
  drain(onMessage: (msg: NetlinkMessage) => void): { overflowed: boolean } {
    return this.drainRecords((data, dv, type, start, end) =>
      onMessage({
        type,
        flags: dv.getUint16(start - 10, true),
        seq: dv.getUint32(start - 8, true),
        portId: dv.getUint32(start - 4, true),
        payload: data.subarray(start, end),
      }),
    );
  }

  /**
   * drain() without an object per message: `onRecord` gets the type and the payload's bounds in `data`/`dv`
   * (valid during the call only). Stops after the datagram that reaches `maxDatagrams`: what is left stays
   * queued (`more`), so a flood costs a bounded amount per call and the kernel drops the excess (ENOBUFS).
   */
  drainRecords(
    onRecord: (data: Uint8Array, dv: DataView, type: number, start: number, end: number) => void,
    maxDatagrams = Infinity,
  ): { overflowed: boolean; more: boolean } {
    if (this.batch === undefined) this.batch = createBatch();
    if (this.batch !== null) {
      const drained = this.drainBatched(this.batch, onRecord, maxDatagrams);
      if (drained) return drained;
      this.batch = null;
    }
    let overflowed = false;
    const dv = view(this.buffer);
    for (let datagrams = 0; ; datagrams++) {
      if (datagrams >= maxDatagrams) return { overflowed, more: true };
      let n: number | null;
      try {
        n = this.receive(MSG_DONTWAIT);
      } catch (e) {
        if (e instanceof SyscallError && e.errno === 105) {
          overflowed = true; // ENOBUFS is reported once; the queue keeps working
          continue;
        }
        throw e;
      }
      if (n === null) return { overflowed, more: false };
      walkNetlinkMessages(dv, 0, n, (type, start, end) => onRecord(this.buffer, dv, type, start, end));
    }
  }

  /** drainRecords() with recvmmsg; null when the kernel does not have it (ENOSYS) before anything was read. */
  private drainBatched(
    b: Batch,
    onRecord: (data: Uint8Array, dv: DataView, type: number, start: number, end: number) => void,
    maxDatagrams: number,
  ): { overflowed: boolean; more: boolean } | null {
    const libc = getLibc();
    let overflowed = false;
    let received = false;
    let datagrams = 0;
    for (;;) {
      if (datagrams >= maxDatagrams) return { overflowed, more: true };
      const n = libc.recvmmsg(this.fd, b.headers, BATCH_SLOTS, MSG_DONTWAIT | MSG_TRUNC, null);
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        if (e === EAGAIN) return { overflowed, more: false };
        if (e === ENOBUFS) {
          overflowed = true; // reported once; the queue keeps working
          continue;
        }
        if (e === ENOSYS && !received) return null;
        throw new SyscallError("recvmmsg(netlink)", e);
      }
      received = true;
      datagrams += n;
      for (let i = 0; i < n; i++) {
        const len = b.headerView.getUint32(i * MMSGHDR_BYTES + 56, true);
        if (len > BATCH_SLOT_BYTES) throw new NetlinkParseError(`netlink datagram of ${len} bytes exceeds the ${BATCH_SLOT_BYTES}-byte slot`);
        const start = i * BATCH_SLOT_BYTES;
        walkNetlinkMessages(b.dataView, start, start + len, (type, from, to) => onRecord(b.data, b.dataView, type, from, to));
      }
    }
  }

  /** One datagram into the buffer; null when nothing is queued (EAGAIN). */
  private receive(flags: number): number | null {
    const libc = getLibc();
    for (;;) {
      const n = Number(libc.recv(this.fd, this.buffer, this.buffer.length, flags | MSG_TRUNC));
      if (n >= 0) {
        if (n > this.buffer.length) throw new NetlinkParseError(`netlink datagram of ${n} bytes exceeds the ${this.buffer.length}-byte buffer`);
        return n;
      }
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) return null;
      throw new SyscallError("recv(netlink)", e);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    getLibc().close(this.fd);
  }
}

function createBatch(): Batch {
  const data = new Uint8Array(BATCH_SLOTS * BATCH_SLOT_BYTES);
  const iovecs = new Uint8Array(BATCH_SLOTS * IOVEC_BYTES);
  const headers = new Uint8Array(BATCH_SLOTS * MMSGHDR_BYTES);
  const dataAt = ptr(data);
  const iovecsAt = ptr(iovecs);
  const iv = view(iovecs);
  const hv = view(headers);
  for (let i = 0; i < BATCH_SLOTS; i++) {
    iv.setBigUint64(i * IOVEC_BYTES, BigInt(dataAt + i * BATCH_SLOT_BYTES), true); // iov_base
    iv.setBigUint64(i * IOVEC_BYTES + 8, BigInt(BATCH_SLOT_BYTES), true); // iov_len
    hv.setBigUint64(i * MMSGHDR_BYTES + 16, BigInt(iovecsAt + i * IOVEC_BYTES), true); // msg_iov
    hv.setBigUint64(i * MMSGHDR_BYTES + 24, 1n, true); // msg_iovlen
  }
  return { data, dataView: view(data), iovecs, headers, headerView: hv };
}
