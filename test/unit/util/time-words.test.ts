import { describe, expect, test } from "bun:test";
import { formatClock, formatLocal, parseTime, TimeParseError, zoneLabel } from "../../../src/util/time.ts";

// test/setup.ts sets TZ=UTC, so local times below are UTC.
const NOON = Date.UTC(2026, 10, 25, 12, 0, 0);
const EARLY = Date.UTC(2026, 10, 25, 2, 30, 0);

describe("parseTime: times of day and day words", () => {
  const cases: [string, number, number][] = [
    ["03:00", NOON, Date.UTC(2026, 10, 25, 3, 0)],
    // at 02:30 the last 03:00 was yesterday's
    ["03:00", EARLY, Date.UTC(2026, 10, 24, 3, 0)],
    ["3:00", NOON, Date.UTC(2026, 10, 25, 3, 0)],
    ["12:00", NOON, NOON],
    ["03:00:15", NOON, Date.UTC(2026, 10, 25, 3, 0, 15)],
    ["today", NOON, Date.UTC(2026, 10, 25)],
    ["today 09:30", NOON, Date.UTC(2026, 10, 25, 9, 30)],
    ["Yesterday", NOON, Date.UTC(2026, 10, 24)],
    ["yesterday 03:00", NOON, Date.UTC(2026, 10, 24, 3, 0)],
    ["yesterday 23:59:59", NOON, Date.UTC(2026, 10, 24, 23, 59, 59)],
    ["2m ago", NOON, NOON - 120_000],
    ["2026-11-24T03:00", NOON, Date.UTC(2026, 10, 24, 3, 0)],
  ];
  for (const [input, now, want] of cases) test(`${input} at ${new Date(now).toISOString()}`, () => expect(parseTime(input, now)).toBe(want));

  for (const bad of ["24:00", "03:60", "today 25:00", "tomorrow", "yesterday noon"]) {
    test(`rejects ${JSON.stringify(bad)}`, () => expect(() => parseTime(bad, NOON)).toThrow(TimeParseError));
  }
  test("the error lists the accepted forms", () => expect(() => parseTime("soonish", NOON)).toThrow(/today 09:30/));
});

describe("time output names its zone", () => {
  test("UTC", () => {
    expect(zoneLabel(NOON, true)).toBe("UTC");
    expect(zoneLabel(NOON, false)).toBe("UTC"); // TZ=UTC here
    expect(formatLocal(NOON)).toBe("2026-11-25 12:00:00");
    expect(formatClock(NOON, true)).toBe("12:00");
  });
});
