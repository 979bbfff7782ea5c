// `pmon agent --once` without --json: one line per process, sorted by the chosen resource, with the
// network columns, and a command line holding a newline stays on its line.
import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pmon } from "../../helpers/pmon-binary.ts";

const FIXTURES = join(import.meta.dir, "../../fixtures");
const config = join(mkdtempSync(join(tmpdir(), "pmon-once-text-")), "empty.toml");
writeFileSync(config, "");
const fixtureArgs = ["agent", "--config", config, "--once", "--proc-root", join(FIXTURES, "proc"), "--proc-root-next", join(FIXTURES, "proc-next"), "--sys-root", join(FIXTURES, "sys"), "--top-n", "20"];

/** The process lines: those after the column header up to the "other processes" line. */
function processLines(stdout: string): string[] {
  const lines = stdout.split("\n");
  const head = lines.findIndex((l) => l.trimStart().startsWith("PID "));
  expect(head).toBeGreaterThan(0);
  const end = lines.findIndex((l) => / other processes: /.test(l));
  return lines.slice(head + 1, end);
}

const column = (line: string, i: number) => Number(line.trim().split(/\s+/)[i]);

test("one line per process, a newline in a command line printed escaped", async () => {
  const r = await pmon(fixtureArgs);
  expect(r.code).toBe(0);
  const lines = processLines(r.stdout);
  expect(lines).toHaveLength(13); // every process of the fixture alive in the second sample (proc-next holds 13)
  const pid201 = lines.find((l) => l.trim().startsWith("201 "));
  expect(pid201).toContain("foo\\x0abar");
  expect(r.stdout.split("\n")[0]).toContain("fixture-host");
  expect(r.stdout).toMatch(/PID\s+USER\s+CPU%\s+RSS MiB\s+RD MiB\/s\s+WR MiB\/s\s+RX MiB\/s\s+TX MiB\/s\s+COMMAND/);
});

test("sorted by CPU by default and by --by mem|io", async () => {
  const byCpu = processLines((await pmon(fixtureArgs)).stdout).map((l) => column(l, 2));
  expect(byCpu).toEqual([...byCpu].sort((a, b) => b - a));
  expect(byCpu[0]).toBe(450);
  const byMem = processLines((await pmon([...fixtureArgs, "--by", "mem"])).stdout).map((l) => column(l, 3));
  expect(byMem).toEqual([...byMem].sort((a, b) => b - a));
  const io = processLines((await pmon([...fixtureArgs, "--by", "io"])).stdout).map((l) => column(l, 4) + column(l, 5));
  expect(io).toEqual([...io].sort((a, b) => b - a));
  expect(io[0]).toBeGreaterThan(0);
});

test("--by with an unknown resource is a usage error (exit 2)", async () => {
  const r = await pmon([...fixtureArgs, "--by", "disk"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--by must be one of cpu, mem, io, net, got "disk"');
});
