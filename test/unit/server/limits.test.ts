import { expect, test } from "bun:test";
import { HttpError } from "../../../src/server/errors.ts";
import { HostRateLimiter, InflightBudget } from "../../../src/server/limits.ts";

const status = (fn: () => unknown) => {
  try {
    fn();
    return 200;
  } catch (e) {
    return (e as HttpError).status;
  }
};

test("the in-flight budget refuses what does not fit (503) and frees on release, once", () => {
  const b = new InflightBudget(100);
  const r1 = b.reserve(60);
  expect(status(() => b.reserve(50))).toBe(503);
  const r2 = b.reserve(40);
  expect(b.inUse).toBe(100);
  r1();
  r1();
  expect(b.inUse).toBe(40);
  r2();
  expect(b.inUse).toBe(0);
});

test("per-host rate: a burst, then the steady rate; hosts do not share allowances", () => {
  const r = new HostRateLimiter(10, 20);
  let t = 1_000_000;
  const burst = Array.from({ length: 25 }, () => status(() => r.take("a", t)));
  expect(burst.filter((s) => s === 200).length).toBe(20);
  expect(burst.filter((s) => s === 429).length).toBe(5);
  expect(status(() => r.take("b", t))).toBe(200);
  // one simulated minute at 20 tries/s: 10/s get through
  let ok = 0;
  for (let i = 0; i < 1200; i++) {
    t += 50;
    if (status(() => r.take("a", t)) === 200) ok++;
  }
  expect(ok).toBeGreaterThanOrEqual(599);
  expect(ok).toBeLessThanOrEqual(601);
});

test("a 72-hour spool (8,640 reports at 30 s) replayed at the agent's default 8/s is never refused and drains in 18 minutes", () => {
  const r = new HostRateLimiter(10, 20);
  let t = 0;
  let refused = 0;
  for (let sent = 0; sent < 8640; sent++) {
    t += 125;
    if (status(() => r.take("h", t)) !== 200) refused++;
  }
  expect(refused).toBe(0);
  expect(t / 60_000).toBe(18);
});

test("idle hosts are pruned", () => {
  const r = new HostRateLimiter(10, 20);
  for (let i = 0; i < 100; i++) r.take(`h${i}`, 0);
  r.prune(60_000);
  expect(r.size).toBe(0);
});
