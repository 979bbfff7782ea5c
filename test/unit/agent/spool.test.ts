import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Spool } from "../../../src/agent/spool.ts";
import { createLogger } from "../../../src/log.ts";

const log = createLogger("silent");
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pmon-spool-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const big = { maxBytes: 1e9, maxAgeMs: 1e12 };

describe("Spool", () => {
  test("entries come back oldest first and survive a new Spool on the same directory", () => {
    const s = new Spool(dir, big, log);
    s.add("b-2", 2000, '{"n":2}', 3000);
    s.add("a-1", 1000, '{"n":1}', 3000);
    s.add("c-3", 3000, '{"n":3}', 3000);
    const again = new Spool(dir, big, log);
    expect(again.size).toBe(3);
    const seen: string[] = [];
    for (let e = again.oldest(); e; e = again.oldest()) {
      seen.push(e.json);
      again.remove(e.entry);
    }
    expect(seen).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a write interrupted before its rename leaves no entry (kill -9 mid-write)", () => {
    const s = new Spool(dir, big, log);
    s.add("a-1", 1000, '{"n":1}', 1000);
    writeFileSync(join(dir, "000000000002000-a-2.json.tmp"), '{"n":'); // torn temp file
    const again = new Spool(dir, big, log);
    expect(again.size).toBe(1);
    expect(again.oldest()!.json).toBe('{"n":1}');
    expect(readdirSync(dir).some((n) => n.endsWith(".tmp"))).toBe(false);
  });

  test("over the size limit the oldest entries are dropped and counted", () => {
    const s = new Spool(dir, { maxBytes: 250, maxAgeMs: 1e12 }, log);
    const body = "x".repeat(100);
    for (let i = 1; i <= 5; i++) s.add(`r-${i}`, i * 1000, body, 5000);
    expect(s.size).toBe(2);
    expect(s.stats().dropped).toBe(3);
    expect(s.oldest()!.entry.time).toBe(4000);
  });

  test("entries older than the age limit are dropped", () => {
    const s = new Spool(dir, { maxBytes: 1e9, maxAgeMs: 10_000 }, log);
    s.add("old", 1_000, "{}", 1_000);
    s.add("new", 20_000, "{}", 20_000);
    expect(s.size).toBe(1);
    expect(s.oldest()!.entry.time).toBe(20_000);
    expect(s.stats().dropped).toBe(1);
  });

  test("the same report id spooled twice is one entry", () => {
    const s = new Spool(dir, big, log);
    s.add("a-1", 1000, '{"n":1}', 1000);
    s.add("a-1", 1000, '{"n":1}', 1000);
    expect(s.size).toBe(1);
    expect(s.stats().bytes).toBe(7);
  });
});
