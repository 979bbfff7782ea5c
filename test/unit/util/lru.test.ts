import { expect, test } from "bun:test";
import { LruCache } from "../../../src/util/lru.ts";

test("never holds more than its cap; the least recently used goes first", () => {
  const c = new LruCache<string, number>(3);
  for (let i = 0; i < 1000; i++) c.set(`k${i}`, i, 1e12);
  expect(c.size).toBe(3);
  expect(c.get("k997", 0)).toBe(997);
  c.get("k997", 0); // now the most recent
  c.set("new", 1, 1e12);
  expect(c.get("k998", 0)).toBeUndefined();
  expect(c.get("k997", 0)).toBe(997);
});

test("entries expire, negative ones included", () => {
  const c = new LruCache<string, { row: number | undefined }>(10);
  c.set("unknown", { row: undefined }, 1000);
  expect(c.get("unknown", 999)).toEqual({ row: undefined });
  expect(c.get("unknown", 1000)).toBeUndefined();
  expect(c.size).toBe(0);
});
