import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDenied, isGone } from "../../../src/procfs/errors.ts";
import { readProcText } from "../../../src/procfs/read.ts";

test("reads files larger than the initial buffer and keeps bytes as latin1", () => {
  const dir = mkdtempSync(join(tmpdir(), "pmon-read-"));
  try {
    const big = "x".repeat(200_000) + "\u00ff";
    writeFileSync(join(dir, "big"), Buffer.from(big, "latin1"));
    writeFileSync(join(dir, "small"), "abc\0def");
    expect(readProcText(join(dir, "big"))).toBe(big);
    expect(readProcText(join(dir, "small"))).toBe("abc\0def");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("reads a live proc file whose stat size is 0", () => {
  expect(readProcText("/proc/self/stat")).toMatch(/^\d+ \(/);
});

test("isGone / isDenied classify errno codes", () => {
  expect(isGone(Object.assign(new Error("x"), { code: "ENOENT" }))).toBe(true);
  expect(isGone(Object.assign(new Error("x"), { code: "ESRCH" }))).toBe(true);
  expect(isGone(Object.assign(new Error("x"), { code: "EACCES" }))).toBe(false);
  expect(isDenied(Object.assign(new Error("x"), { code: "EACCES" }))).toBe(true);
  expect(isDenied(new Error("plain"))).toBe(false);
});
