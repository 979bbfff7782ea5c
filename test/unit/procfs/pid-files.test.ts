// /proc/[pid]/io, statm, cmdline and fd.
import { describe, expect, test } from "bun:test";
import { ProcParseError } from "../../../src/procfs/errors.ts";
import { createProcFs } from "../../../src/procfs/fs.ts";
import { parsePidCmdline, parsePidCmdlineArgs, readPidCmdlineText } from "../../../src/procfs/pid-cmdline.ts";
import { parseSocketLink, readPidSocketInodes } from "../../../src/procfs/pid-fd.ts";
import { parsePidIo, readPidIo } from "../../../src/procfs/pid-io.ts";
import { parsePidStatm, readPidStatm } from "../../../src/procfs/pid-statm.ts";
import { PROC } from "../../helpers/procfs/fixtures.ts";

describe("parsePidIo", () => {
  test("takes read_bytes/write_bytes, not cancelled_write_bytes", () => {
    const text = "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 6\ncancelled_write_bytes: 7\n";
    expect(parsePidIo(text)).toEqual({ readBytes: 5, writeBytes: 6 });
  });
  test.each([["empty", ""], ["missing write_bytes", "rchar: 1\nread_bytes: 5\n"], ["not a number", "x\nread_bytes: a\nwrite_bytes: 1\n"]])("malformed: %s", (_, t) => {
    expect(() => parsePidIo(t)).toThrow(ProcParseError);
  });
  test("fixture pid 400 holds counters near 2^52", () => {
    expect(readPidIo(createProcFs(PROC), 400)).toEqual({ readBytes: 4503599627370496, writeBytes: 4503599627370496 - 1048576 });
  });
});

describe("parsePidStatm", () => {
  test("size and resident pages", () => {
    expect(parsePidStatm("765 425 397 5 0 123 0\n")).toEqual({ size: 765, resident: 425 });
  });
  test.each([["empty", ""], ["one field", "765"], ["letters", "a b c"]])("malformed: %s", (_, t) => {
    expect(() => parsePidStatm(t)).toThrow(ProcParseError);
  });
  test("fixture pid 800 is 6 GiB resident", () => {
    expect(readPidStatm(createProcFs(PROC), 800).resident * 4096).toBe(6 * 1024 ** 3);
  });
});

describe("cmdline", () => {
  test("NULs become spaces, trailing NUL dropped", () => {
    expect(parsePidCmdline("/bin/x\0--a\0b c\0")).toBe("/bin/x --a b c");
    expect(parsePidCmdlineArgs("/bin/x\0--a\0b c\0")).toEqual(["/bin/x", "--a", "b c"]);
  });
  test("kernel threads have none", () => {
    expect(parsePidCmdline("")).toBe("");
    expect(parsePidCmdlineArgs(readPidCmdlineText(createProcFs(PROC), 2))).toEqual([]);
  });
});

describe("fd sockets", () => {
  test("parseSocketLink", () => {
    expect(parseSocketLink("socket:[31001]")).toBe(31001);
    expect(parseSocketLink("/dev/null")).toBeUndefined();
    expect(parseSocketLink("pipe:[12]")).toBeUndefined();
    expect(parseSocketLink("socket:[x]")).toBeUndefined();
  });
  test("fixture pid 100 holds three sockets and a file", () => {
    expect(readPidSocketInodes(createProcFs(PROC), 100).sort()).toEqual([31001, 31003, 31005]);
  });
});
