import { expect, test } from "bun:test";
import { compareVersions, isPmonVersion } from "../../../src/util/pmon-version.ts";

test("pmon versions compare as semantic versions; the old tool's '1.6' is not one", () => {
  expect(isPmonVersion("1.6")).toBe(false);
  expect(isPmonVersion("v1.0.0")).toBe(false);
  expect(isPmonVersion("0.1.0")).toBe(true);
  expect(compareVersions("0.10.0", "0.9.9")).toBeGreaterThan(0);
  expect(compareVersions("1.0.0-rc.1", "1.0.0")).toBeLessThan(0);
  expect(compareVersions("1.0.0-rc.2", "1.0.0-rc.10")).toBeLessThan(0);
  expect(compareVersions("1.0.0-alpha", "1.0.0-1")).toBeGreaterThan(0);
  expect(compareVersions("1.2.3", "1.2.3")).toBe(0);
  expect(() => compareVersions("1.6", "1.0.0")).toThrow(/not pmon versions/);
});
