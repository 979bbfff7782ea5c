// Properties of the compiled binary itself.
import { expect, test } from "bun:test";
import pkg from "../../../package.json";
import { requireBinary } from "../../helpers/binary.ts";

test("--version prints the package version", () => {
  const p = Bun.spawnSync([requireBinary(), "--version"]);
  expect(p.exitCode).toBe(0);
  expect(p.stdout.toString()).toContain(pkg.version);
});

test("--help lists the main subcommands", () => {
  const p = Bun.spawnSync([requireBinary(), "--help"]);
  expect(p.exitCode).toBe(0);
  const out = p.stdout.toString() + p.stderr.toString();
  for (const cmd of ["server", "agent", "enroll", "status"]) expect(out).toMatch(new RegExp(`\\b${cmd}\\b`));
});

test("every subcommand's --help has its options and examples", () => {
  for (const cmd of ["server", "agent", "enroll", "remove", "status", "top"]) {
    const p = Bun.spawnSync([requireBinary(), cmd, "--help"], { env: { ...process.env, NO_COLOR: "1" } });
    expect(p.exitCode).toBe(0);
    const out = p.stdout.toString();
    expect(out).toContain(`pmon ${cmd}`);
    expect(out).toContain("--config");
    expect(out).toMatch(new RegExp(`EXAMPLES\\n\\n  pmon ${cmd}`));
  }
});

test("needs nothing newer than GLIBC_2.17 (runs on old fleets)", () => {
  const p = Bun.spawnSync(["objdump", "-T", requireBinary()]);
  expect(p.exitCode).toBe(0);
  const versions = [...new Set(p.stdout.toString().match(/GLIBC_[0-9.]+/g) ?? [])];
  expect(versions.length).toBeGreaterThan(0);
  const key = (v: string) => v.slice(6).split(".").map(Number);
  const highest = versions.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  }).at(-1)!;
  expect(key(highest)[0]).toBe(2);
  expect(key(highest)[1]!).toBeLessThanOrEqual(17);
});
