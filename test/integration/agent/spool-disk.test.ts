// The spool on a real small filesystem (a tmpfs mounted here, so this needs root): files 0600, the
// directory 0700 and recreated when deleted, and a full disk costs the oldest reports, never the
// newest, with no empty .tmp files left behind.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Spool } from "../../../src/agent/spool.ts";
import { createLogger } from "../../../src/log.ts";

const log = createLogger("silent");
let mnt: string;

beforeAll(() => {
  mnt = mkdtempSync(join(tmpdir(), "pmon-spool-tmpfs-"));
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", mnt], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`mounting a tmpfs needs root: ${r.stderr.toString()}`);
});

afterAll(() => {
  Bun.spawnSync(["umount", mnt]);
  rmSync(mnt, { recursive: true, force: true });
});

const report = (i: number, size: number) => JSON.stringify({ id: `r-${i}`, pad: "x".repeat(size) });

test("modes, a deleted directory, and a full disk that drops the oldest entries only", () => {
  const dir = join(mnt, "spool");
  const spool = new Spool(dir, { maxBytes: 1e9, maxAgeMs: 1e12 }, log);
  expect(statSync(dir).mode & 0o777).toBe(0o700);

  spool.add("r-0", 1000, report(0, 100), 1000);
  expect(statSync(join(dir, readdirSync(dir)[0]!)).mode & 0o777).toBe(0o600);

  // someone deletes the directory: the next report recreates it
  rmSync(dir, { recursive: true });
  spool.add("r-1", 1001, report(1, 100), 1001);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect(readdirSync(dir).some((n) => n.includes("r-1"))).toBe(true);

  // fill the 1 MiB filesystem with 50 KiB reports, far past its size
  const added: number[] = [];
  for (let i = 2; i < 80; i++) {
    spool.add(`r-${i}`, 1000 + i, report(i, 50 * 1024), 1000 + i);
    added.push(i);
  }
  const names = readdirSync(dir);
  expect(names.filter((n) => n.endsWith(".tmp"))).toEqual([]);
  const kept = names.map((n) => Number(/-r-(\d+)\.json$/.exec(n)?.[1])).sort((a, b) => a - b);
  // the newest report is there, what was dropped is the oldest, and what is kept is one unbroken run
  expect(kept.at(-1)).toBe(79);
  expect(kept.length).toBeGreaterThan(5);
  expect(kept.length).toBeLessThan(40);
  expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 80 - kept.length + i));
  expect(spool.stats().dropped).toBe(80 - kept.length);
  expect(spool.size).toBe(kept.length);
  // every kept file is whole
  for (const n of names) expect(statSync(join(dir, n)).size).toBeGreaterThan(50 * 1024);
});
