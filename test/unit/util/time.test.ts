import { describe, expect, test } from "bun:test";
import { formatAge, formatUtc, parseTime, TimeParseError } from "../../../src/util/time.ts";

// test/setup.ts sets TZ=UTC, so local times below are UTC.
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

describe("parseTime", () => {
  const cases: [string, number][] = [
    ["now", NOW],
    ["NOW", NOW],
    ["3h ago", NOW - 3 * 3600_000],
    ["90m ago", NOW - 90 * 60_000],
    ["-3h", NOW - 3 * 3600_000],
    ["2d ago", NOW - 2 * 86_400_000],
    ["1.5 hours ago", NOW - 5400_000],
    ["30s ago", NOW - 30_000],
    ["2026-11-24 03:00", Date.UTC(2026, 10, 24, 3, 0, 0)],
    ["2026-11-24 03:00:15", Date.UTC(2026, 10, 24, 3, 0, 15)],
    ["2026-11-24", Date.UTC(2026, 10, 24)],
    ["2026-11-24T03:00:00Z", Date.UTC(2026, 10, 24, 3, 0, 0)],
    ["2026-11-24T03:00:00+08:00", Date.UTC(2026, 10, 23, 19, 0, 0)],
    ["2026-11-24T03:00:00.250Z", Date.UTC(2026, 10, 24, 3, 0, 0, 250)],
    ["1795489200", 1795489200_000],
    ["1795489200123", 1795489200123],
  ];
  for (const [input, want] of cases) test(input, () => expect(parseTime(input, NOW)).toBe(want));

  for (const bad of ["", "yesterday-ish", "3 fortnights ago", "2026-13-01 00:00", "2026-02-30 10:00", "2026-11-24 25:00", "123456789012345678"]) {
    test(`rejects ${JSON.stringify(bad)}`, () => expect(() => parseTime(bad, NOW)).toThrow(TimeParseError));
  }
});

test("formatAge picks the largest sensible unit", () => {
  expect([0, 5_000, 119_000, 120_000, 3 * 3600_000, 47 * 3600_000, 49 * 3600_000, -5].map(formatAge)).toEqual(["0s", "5s", "119s", "2m", "3h", "47h", "2d", "0s"]);
});

test("formatUtc is the store's a_time format", () => {
  expect(formatUtc(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe("2026-01-02 03:04:05");
});
