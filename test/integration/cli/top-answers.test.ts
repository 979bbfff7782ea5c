// `pmon top` through the binary against a real server and agent: the time forms people type, times
// printed with their zone (--utc switches), and empty answers that name the window and the data's
// span and exit 1.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startLocalFleet, type LocalFleet } from "../../helpers/local-fleet.ts";
import { pmon } from "../../helpers/pmon-binary.ts";

let fleet: LocalFleet;
beforeAll(async () => {
  fleet = await startLocalFleet({ host: "tz1" });
}, 60_000);
afterAll(() => fleet.down());

const top = (args: string[], env: Record<string, string> = {}) => pmon(["top", "--config", fleet.config, ...args], { env });

test("every time form is understood", async () => {
  for (const at of ["now", "03:00", "today", "today 09:30", "yesterday 03:00", "2026-11-24 03:00", "2026-11-24 03:00:15", "2026-11-24T03:00:00Z", "3h ago", "2m ago", "1795489200"]) {
    const r = await top(["--at", at]);
    expect({ at, err: r.stderr }).toEqual({ at, err: expect.not.stringContaining("cannot understand") });
    expect([0, 1]).toContain(r.code);
  }
}, 30_000);

test("times are printed in the local zone, named; --utc prints UTC", async () => {
  const local = await top(["--at", "now"], { TZ: "Asia/Shanghai" });
  expect(local.code).toBe(0);
  expect(local.stdout).toMatch(/^top 10 by cpu at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00 Asia\/Shanghai /);
  expect(local.stdout).toContain("SAMPLE (+08:00 Asia/Shanghai)");
  const utc = await top(["--at", "now", "--utc"], { TZ: "Asia/Shanghai" });
  expect(utc.stdout).toMatch(/^top 10 by cpu at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC /);
  expect(utc.stdout).toContain("SAMPLE (UTC)");
  // the same moment, 8 hours apart on the clock
  const clock = (s: string) => /at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/.exec(s)![1]!;
  const diff = Date.parse(clock(local.stdout).replace(" ", "T") + "Z") - Date.parse(clock(utc.stdout).replace(" ", "T") + "Z");
  expect(Math.abs(diff - 8 * 3600_000)).toBeLessThan(5000);
});

test("'03:00' in Shanghai is the last 03:00 there", async () => {
  const r = await top(["--at", "03:00", "--json"], { TZ: "Asia/Shanghai" });
  const at = JSON.parse(r.stdout).at as number;
  const shanghai = new Date(at + 8 * 3600_000);
  expect([shanghai.getUTCHours(), shanghai.getUTCMinutes()]).toEqual([3, 0]);
  expect(at).toBeLessThanOrEqual(Date.now());
  expect(Date.now() - at).toBeLessThan(24 * 3600_000);
});

test("an unknown host: exit 1, the window named, and that it has no samples at all", async () => {
  const r = await top(["--host", "nosuch", "--utc"]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/no samples recorded between \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC and \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: host nosuch has no samples at all/);
});

test("a window without data: exit 1, and where the host's samples are", async () => {
  const r = await top(["--host", "tz1", "--at", "2030-01-01", "--utc"]);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain("no samples recorded for host tz1 between 2029-12-31 23:50:00 UTC and 2030-01-01 00:00:00 UTC; its samples run from ");
  const fleetWide = await top(["--from", "2020-01-01", "--to", "2020-01-02", "--utc"]);
  expect(fleetWide.code).toBe(1);
  expect(fleetWide.stdout).toMatch(/no samples recorded for any host between 2020-01-01 00:00:00 UTC and 2020-01-02 00:00:00 UTC; the samples run from \d{4}/);
  const json = await top(["--host", "tz1", "--at", "2030-01-01", "--json"]);
  expect(json.code).toBe(1);
  expect(JSON.parse(json.stdout).samples.first).toBeGreaterThan(0);
  expect(json.stderr).toContain("no samples recorded for host tz1");
});
