import { describe, expect, test } from "bun:test";
import { ProcParseError } from "../../../src/procfs/errors.ts";
import { createProcFs } from "../../../src/procfs/fs.ts";
import { parsePidStat, readPidStat } from "../../../src/procfs/pid-stat.ts";
import { PROC, PROC_NEXT } from "../../helpers/procfs/fixtures.ts";

const tail = (utime: number, stime: number, threads: number, start: number, rss: number) =>
  `S 7 100 100 0 -1 4194560 12 5 0 0 ${utime} ${stime} 6 8 20 0 ${threads} 0 ${start} 999 ${rss} 18446744073709551615 0 0`;

describe("parsePidStat", () => {
  test("plain line", () => {
    const s = parsePidStat(`42 (cat) ${tail(11, 22, 3, 4444, 55)}\n`);
    expect(s).toEqual({ pid: 42, comm: "cat", state: "S", ppid: 7, cminflt: 5, utime: 11, stime: 22, cutime: 6, cstime: 8, numThreads: 3, starttime: 4444, rss: 55 });
  });
  test.each([
    ["spaces and parentheses", "(a b) c)"],
    ["a newline", "foo\nbar"],
    ["an empty comm", ""],
    ["a lone paren", ")"],
  ])("comm with %s", (_, comm) => {
    const s = parsePidStat(`42 (${comm}) ${tail(1, 2, 1, 9, 5)}`);
    expect(s.comm).toBe(comm);
    expect(s.ppid).toBe(7);
    expect(s.starttime).toBe(9);
  });
  test("huge counters stay exact up to 2^53", () => {
    const s = parsePidStat(`42 (x) ${tail(4000000000000, 9007199254740991, 1, 1, 1)}`);
    expect(s.utime).toBe(4000000000000);
    expect(s.stime).toBe(9007199254740991);
  });
  test.each([
    ["empty", ""],
    ["no parentheses", "42 cat S 1 2 3"],
    ["truncated", "42 (cat) S 7 100 100 0"],
    ["non-numeric field", `42 (cat) S x 100`],
  ])("malformed: %s", (_, text) => {
    expect(() => parsePidStat(text, "/p/42/stat")).toThrow(ProcParseError);
  });
  test("the error names the file", () => {
    expect(() => parsePidStat("nonsense", "/p/42/stat")).toThrow("/p/42/stat");
  });
});

describe("readPidStat on the fixture tree", () => {
  test("pid 200 has the tricky comm", () => {
    const s = readPidStat(createProcFs(PROC), 200);
    expect(s.comm).toBe("(a b) c)");
    expect(s.utime).toBe(100);
  });
  test("pid 201 has a newline in comm", () => {
    expect(readPidStat(createProcFs(PROC), 201).comm).toBe("foo\nbar");
  });
  test("pid 600 is reused in proc-next with a new starttime", () => {
    expect(readPidStat(createProcFs(PROC), 600).starttime).toBe(6000);
    expect(readPidStat(createProcFs(PROC_NEXT), 600).starttime).toBe(100050);
  });
  test("a vanished pid throws ENOENT (so callers can skip it)", () => {
    expect(() => readPidStat(createProcFs(PROC_NEXT), 500)).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
