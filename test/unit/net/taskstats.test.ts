// TASKSTATS messages on bytes built here from the documented layout (include/uapi/linux/taskstats.h).
import { describe, expect, test } from "bun:test";
import { NetlinkParseError } from "../../../src/net/netlink-message.ts";
import { buildGetFamilyBody, buildRegisterBody, parseFamilyId, parseTaskExit, parseTaskstatsStruct } from "../../../src/net/taskstats.ts";

// --- byte builders, independent of the code under test ---

function attr(type: number, value: Uint8Array | number[]): Buffer {
  const len = 4 + value.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  Buffer.from(value).copy(b, 4);
  return b;
}

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};

interface StructFields {
  version: number;
  size?: number;
  flag?: number;
  pid: number;
  ppid: number;
  tgid?: number;
  comm?: string;
  uid?: number;
  btime32?: number;
  btime64?: number;
  utimeUs?: number;
  stimeUs?: number;
  readBytes?: number;
  writeBytes?: number;
}

/** struct taskstats at the offsets of the uapi header: version 8 is 328 bytes, 12 is 400, 16 is 560+. */
function taskstats(f: StructFields): Buffer {
  const size = f.size ?? (f.version >= 12 ? 560 : f.version >= 10 ? 352 : 328);
  const b = Buffer.alloc(Math.max(size, 328));
  b.writeUInt16LE(f.version, 0);
  b.writeUInt32LE(3, 4); // ac_exitcode
  b[8] = f.flag ?? 0;
  b.write(f.comm ?? "dd", 80, "utf8");
  b.writeUInt32LE(f.uid ?? 1000, 120);
  b.writeUInt32LE(f.pid, 128);
  b.writeUInt32LE(f.ppid, 132);
  b.writeUInt32LE(f.btime32 ?? 1_700_000_000, 136);
  b.writeBigUInt64LE(BigInt(f.utimeUs ?? 0), 152);
  b.writeBigUInt64LE(BigInt(f.stimeUs ?? 0), 160);
  b.writeBigUInt64LE(BigInt(f.readBytes ?? 0), 248);
  b.writeBigUInt64LE(BigInt(f.writeBytes ?? 0), 256);
  if (size >= 352) b.writeBigUInt64LE(BigInt(f.btime64 ?? f.btime32 ?? 1_700_000_000), 344);
  if (size >= 376) b.writeUInt32LE(f.tgid ?? f.pid, 368);
  return b.subarray(0, size); // a record cut short keeps the bytes before the cut
}

/** genlmsghdr (cmd NEW) + AGGR_PID { PID, STATS } [+ AGGR_TGID { TGID, STATS }] */
function exitMessage(stats: Buffer, pid: number, tgid?: number, cmd = 2): Uint8Array {
  const parts = [Buffer.from([cmd, 1, 0, 0]), attr(4, Buffer.concat([attr(1, u32(pid)), attr(3, stats)]))];
  if (tgid !== undefined) parts.push(attr(5, Buffer.concat([attr(2, u32(tgid)), attr(3, Buffer.alloc(stats.length))])));
  return Buffer.concat(parts);
}

describe("parseTaskExit", () => {
  test("version 16: a single-threaded process's last record, 64-bit counters and start", () => {
    const s = taskstats({ version: 16, flag: 0x20, pid: 4518, ppid: 4517, comm: "dd", btime64: 1_795_696_885, utimeUs: 12_000, stimeUs: 2_500_000, readBytes: 98_304, writeBytes: 5 * 2 ** 40 });
    expect(parseTaskExit(exitMessage(s, 4518))).toEqual({
      version: 16,
      pid: 4518,
      tgid: 4518,
      ppid: 4517,
      groupDead: true,
      comm: "dd",
      uid: 1000,
      exitCode: 3,
      startS: 1_795_696_885,
      utimeUs: 12_000,
      stimeUs: 2_500_000,
      readBytes: 98_304,
      writeBytes: 5 * 2 ** 40,
      cancelledWriteBytes: 0,
    });
  });

  test("version 12: a thread that is not the last of its process keeps its own tgid, groupDead false", () => {
    const e = parseTaskExit(exitMessage(taskstats({ version: 12, pid: 701, tgid: 700, ppid: 1, comm: "worker-3" }), 701))!;
    expect([e.pid, e.tgid, e.ppid, e.groupDead, e.comm]).toEqual([701, 700, 1, false, "worker-3"]);
  });

  test("version 8 (Linux 3.10): no tgid, start from the 32-bit ac_btime; AGGR_TGID names the process of a last thread", () => {
    const s = taskstats({ version: 8, pid: 900, ppid: 5, btime32: 1_600_000_000, writeBytes: 4096 });
    const alone = parseTaskExit(exitMessage(s, 900))!;
    expect([alone.tgid, alone.groupDead, alone.startS, alone.writeBytes]).toEqual([0, false, 1_600_000_000, 4096]);
    const last = parseTaskExit(exitMessage(s, 900, 899))!;
    expect([last.tgid, last.groupDead]).toEqual([899, true]);
  });

  test("a comm of the full 32 bytes has no NUL and is read whole", () => {
    const e = parseTaskExit(exitMessage(taskstats({ version: 16, pid: 1, ppid: 0, comm: "x".repeat(32) }), 1))!;
    expect(e.comm).toBe("x".repeat(32));
  });

  test("a message of another command is not an exit", () => {
    expect(parseTaskExit(exitMessage(taskstats({ version: 16, pid: 1, ppid: 0 }), 1, undefined, 1))).toBeNull();
  });

  test.each([
    ["a struct shorter than the storage counters", () => exitMessage(taskstats({ version: 8, pid: 9, ppid: 1, size: 260 }), 9)],
    ["a version 12 struct cut before ac_tgid", () => exitMessage(taskstats({ version: 12, pid: 9, ppid: 1, size: 360 }), 9)],
    ["a version 10 struct cut before ac_btime64", () => exitMessage(taskstats({ version: 10, pid: 9, ppid: 1, size: 340 }), 9)],
    ["a pid attribute that disagrees with ac_pid", () => exitMessage(taskstats({ version: 16, pid: 9, ppid: 1 }), 10)],
    ["no AGGR_PID", () => Buffer.concat([Buffer.from([2, 1, 0, 0]), attr(6, [])])],
    ["AGGR_PID without stats", () => Buffer.concat([Buffer.from([2, 1, 0, 0]), attr(4, attr(1, u32(9)))])],
    ["an attribute longer than the message", () => Buffer.concat([Buffer.from([2, 1, 0, 0]), Buffer.from([200, 0, 4, 0, 1, 2, 3, 4])])],
    ["a payload shorter than the generic header", () => Buffer.from([2, 1])],
  ])("%s is a NetlinkParseError", (_, build) => {
    expect(() => parseTaskExit(build())).toThrow(NetlinkParseError);
  });

  test("parseTaskstatsStruct reads what the record's length allows and no more", () => {
    expect(parseTaskstatsStruct(taskstats({ version: 9, pid: 3, ppid: 2, size: 336 })).pid).toBe(3);
  });
});

describe("generic netlink requests and the family reply", () => {
  test("CTRL_CMD_GETFAMILY for TASKSTATS: genl header then the NUL-ended name, padded to 4", () => {
    const body = buildGetFamilyBody("TASKSTATS");
    expect([...body.subarray(0, 4)]).toEqual([3, 1, 0, 0]);
    expect(Buffer.from(body.subarray(4)).equals(attr(2, Buffer.from("TASKSTATS\0")))).toBe(true);
  });

  test("the registration carries the cpu list as a string; deregistration uses the other attribute", () => {
    const reg = buildRegisterBody("0-3");
    expect([...reg.subarray(0, 4)]).toEqual([1, 1, 0, 0]);
    expect(Buffer.from(reg.subarray(4)).equals(attr(3, Buffer.from("0-3\0")))).toBe(true);
    expect(Buffer.from(buildRegisterBody("0-3", false).subarray(4)).equals(attr(4, Buffer.from("0-3\0")))).toBe(true);
  });

  test("the family id is found among the controller's attributes", () => {
    const reply = Buffer.concat([Buffer.from([1, 2, 0, 0]), attr(2, Buffer.from("TASKSTATS\0")), attr(1, [31, 0]), attr(3, u32(1))]);
    expect(parseFamilyId(reply)).toBe(31);
    expect(() => parseFamilyId(Buffer.concat([Buffer.from([1, 2, 0, 0]), attr(2, Buffer.from("X\0"))]))).toThrow(NetlinkParseError);
  });
});
