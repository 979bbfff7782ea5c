// Generic netlink framing and the TASKSTATS family's messages: the family lookup, the listener registration,
// and the exit record the kernel sends for every task (thread) that exits. Pure byte work, no sockets.
// Layout of struct taskstats from include/uapi/linux/taskstats.h; fields are only ever appended, so a
// record is read by its version and its length.
import { align4, findAttribute, NetlinkParseError, parseAttributes, view } from "./netlink-message.ts";

export const NETLINK_GENERIC = 16;
export const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;
const GENL_HDRLEN = 4;

export const TASKSTATS_GENL_NAME = "TASKSTATS";
const TASKSTATS_GENL_VERSION = 1;
const TASKSTATS_CMD_GET = 1;
const TASKSTATS_CMD_NEW = 2;
const TASKSTATS_TYPE_PID = 1;
const TASKSTATS_TYPE_TGID = 2;
const TASKSTATS_TYPE_STATS = 3;
const TASKSTATS_TYPE_AGGR_PID = 4;
const TASKSTATS_TYPE_AGGR_TGID = 5;
const TASKSTATS_CMD_ATTR_REGISTER_CPUMASK = 3;
const TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK = 4;

// struct taskstats offsets (bytes)
const OFF_VERSION = 0; // u16
const OFF_EXITCODE = 4; // u32
const OFF_FLAG = 8; // u8
const OFF_COMM = 80; // char[32]
const COMM_LEN = 32;
const OFF_UID = 120; // u32
const OFF_PID = 128; // u32, the task (thread) id
const OFF_PPID = 132; // u32, the thread group id of the parent
const OFF_BTIME = 136; // u32, start, seconds since the epoch
const OFF_UTIME = 152; // u64, microseconds
const OFF_STIME = 160; // u64, microseconds
const OFF_READ_BYTES = 248; // u64, storage bytes read (as /proc/PID/io read_bytes)
const OFF_WRITE_BYTES = 256; // u64
const OFF_CANCELLED_WRITE_BYTES = 264; // u64
const OFF_BTIME64 = 344; // u64, version 10 on
const OFF_TGID = 368; // u32, version 12 on
/** Bytes up to cancelled_write_bytes: the oldest layout pmon reads (storage I/O accounting). */
const TASKSTATS_MIN_LEN = 272;
/** The first version with ac_tgid and the AGROUP flag: only from then on can thread exits be told from process exits. */
export const TASKSTATS_VERSION_THREAD_GROUP = 12;
const TASKSTATS_LEN_V10 = 352;
const TASKSTATS_LEN_V12 = 376;
/** ac_flag: this task was the last of its thread group (version 12 on). */
const AGROUP = 0x20;

/** One exited task as the kernel reports it. Counters are the task's own: a thread's, not its process's. */
export interface TaskExit {
  version: number;
  /** the task (thread) id */
  pid: number;
  /** the thread group (process) id; 0 when this kernel does not say (version < 12, no AGGR_TGID) */
  tgid: number;
  /** the parent process (thread group id of the task's parent at exit) */
  ppid: number;
  /** the last task of its process: the process is gone, its parent will reap it */
  groupDead: boolean;
  comm: string;
  uid: number;
  exitCode: number;
  /** start, seconds since the epoch */
  startS: number;
  utimeUs: number;
  stimeUs: number;
  readBytes: number;
  writeBytes: number;
  cancelledWriteBytes: number;
}

// --- requests ---

function attribute(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(align4(4 + value.length));
  const dv = view(out);
  dv.setUint16(0, 4 + value.length, true);
  dv.setUint16(2, type, true);
  out.set(value, 4);
  return out;
}

function genlBody(cmd: number, version: number, attrs: Uint8Array[]): Uint8Array {
  const len = GENL_HDRLEN + attrs.reduce((n, a) => n + a.length, 0);
  const out = new Uint8Array(len);
  out[0] = cmd;
  out[1] = version;
  let off = GENL_HDRLEN;
  for (const a of attrs) {
    out.set(a, off);
    off += a.length;
  }
  return out;
}

const cString = (s: string): Uint8Array => new TextEncoder().encode(s + "\0");

/** Body of a CTRL_CMD_GETFAMILY request (message type GENL_ID_CTRL) for the family `name`. */
export function buildGetFamilyBody(name: string): Uint8Array {
  return genlBody(CTRL_CMD_GETFAMILY, 1, [attribute(CTRL_ATTR_FAMILY_NAME, cString(name))]);
}

/** Body of a TASKSTATS_CMD_GET that registers (or deregisters) the sender for exits on the CPUs of `cpuList` ("0-3"). */
export function buildRegisterBody(cpuList: string, register = true): Uint8Array {
  const type = register ? TASKSTATS_CMD_ATTR_REGISTER_CPUMASK : TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK;
  return genlBody(TASKSTATS_CMD_GET, TASKSTATS_GENL_VERSION, [attribute(type, cString(cpuList))]);
}

// --- replies ---

/** The family id in a CTRL_CMD_GETFAMILY reply (the payload after the netlink header). */
export function parseFamilyId(payload: Uint8Array): number {
  if (payload.length < GENL_HDRLEN) throw new NetlinkParseError(`generic netlink payload of ${payload.length} bytes, needs ${GENL_HDRLEN}`);
  const id = findAttribute(payload, GENL_HDRLEN, CTRL_ATTR_FAMILY_ID);
  if (!id || id.length < 2) throw new NetlinkParseError("family reply without CTRL_ATTR_FAMILY_ID");
  return view(id).getUint16(0, true);
}

/**
 * The exit record in a TASKSTATS_CMD_NEW message (the payload after the netlink header): the task's own
 * record from AGGR_PID, with the thread group id from AGGR_TGID when the kernel adds it (the last thread of a
 * multi-threaded process). Returns null for a message of another command.
 */
export function parseTaskExit(payload: Uint8Array): TaskExit | null {
  if (payload.length < GENL_HDRLEN) throw new NetlinkParseError(`generic netlink payload of ${payload.length} bytes, needs ${GENL_HDRLEN}`);
  if (payload[0] !== TASKSTATS_CMD_NEW) return null;
  const attrs = parseAttributes(payload, GENL_HDRLEN);
  const aggrPid = attrs.get(TASKSTATS_TYPE_AGGR_PID);
  if (!aggrPid) throw new NetlinkParseError("taskstats message without TASKSTATS_TYPE_AGGR_PID");
  const inner = parseAttributes(aggrPid, 0);
  const pidAttr = inner.get(TASKSTATS_TYPE_PID);
  const stats = inner.get(TASKSTATS_TYPE_STATS);
  if (!pidAttr || pidAttr.length < 4) throw new NetlinkParseError("taskstats AGGR_PID without a pid");
  if (!stats) throw new NetlinkParseError("taskstats AGGR_PID without its stats");
  const exit = parseTaskstatsStruct(stats);
  if (exit.pid !== view(pidAttr).getUint32(0, true)) throw new NetlinkParseError(`taskstats pid ${view(pidAttr).getUint32(0, true)} does not match ac_pid ${exit.pid}`);
  const aggrTgid = attrs.get(TASKSTATS_TYPE_AGGR_TGID);
  if (aggrTgid) {
    // sent only when the last thread of a process that had several exits
    const tgid = parseAttributes(aggrTgid, 0).get(TASKSTATS_TYPE_TGID);
    if (!tgid || tgid.length < 4) throw new NetlinkParseError("taskstats AGGR_TGID without a tgid");
    exit.tgid = view(tgid).getUint32(0, true);
    exit.groupDead = true;
  }
  return exit;
}

/** One struct taskstats; throws NetlinkParseError when it is shorter than its version promises. */
export function parseTaskstatsStruct(b: Uint8Array): TaskExit {
  if (b.length < TASKSTATS_MIN_LEN) throw new NetlinkParseError(`struct taskstats of ${b.length} bytes, needs at least ${TASKSTATS_MIN_LEN}`);
  const dv = view(b);
  const version = dv.getUint16(OFF_VERSION, true);
  if (version >= 10 && b.length < TASKSTATS_LEN_V10) throw new NetlinkParseError(`struct taskstats version ${version} of ${b.length} bytes, needs ${TASKSTATS_LEN_V10}`);
  if (version >= TASKSTATS_VERSION_THREAD_GROUP && b.length < TASKSTATS_LEN_V12) throw new NetlinkParseError(`struct taskstats version ${version} of ${b.length} bytes, needs ${TASKSTATS_LEN_V12}`);
  const flag = b[OFF_FLAG]!;
  const withGroup = version >= TASKSTATS_VERSION_THREAD_GROUP;
  const commBytes = b.subarray(OFF_COMM, OFF_COMM + COMM_LEN);
  const nul = commBytes.indexOf(0);
  return {
    version,
    pid: dv.getUint32(OFF_PID, true),
    tgid: withGroup ? dv.getUint32(OFF_TGID, true) : 0,
    ppid: dv.getUint32(OFF_PPID, true),
    groupDead: withGroup && (flag & AGROUP) !== 0,
    comm: new TextDecoder().decode(nul < 0 ? commBytes : commBytes.subarray(0, nul)),
    uid: dv.getUint32(OFF_UID, true),
    exitCode: dv.getUint32(OFF_EXITCODE, true),
    startS: version >= 10 ? u64(dv, OFF_BTIME64) : dv.getUint32(OFF_BTIME, true),
    utimeUs: u64(dv, OFF_UTIME),
    stimeUs: u64(dv, OFF_STIME),
    readBytes: u64(dv, OFF_READ_BYTES),
    writeBytes: u64(dv, OFF_WRITE_BYTES),
    cancelledWriteBytes: u64(dv, OFF_CANCELLED_WRITE_BYTES),
  };
}

/** u64 as a number: exact below 2^53 (8 PiB, or 285 years of CPU in µs). */
function u64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 2 ** 32;
}
