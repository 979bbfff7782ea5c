// The scan's every-Nth-round rule: a process whose CPU time did not move has its io and statm read only
// every few scans, yet IO it did in between is still reported (averaged over the time since the last read),
// and a process whose CPU moved is read in full every scan.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scanProcesses, type ProcState } from "../../../src/collect/processes.ts";
import { createProcFs } from "../../../src/procfs/fs.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "pmon-scan-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function writeProcess(pid: number, o: { ticks: number; readBytes: number; rssPages?: number; statmPages?: number; childTicks?: number }): void {
  const dir = join(root, String(pid));
  mkdirSync(dir, { recursive: true });
  // fields 1..24: pid (comm) state ppid ... utime(14) stime(15) ... num_threads(20) ... starttime(22) vsize rss(24)
  writeFileSync(join(dir, "stat"), `${pid} (idle) S 1 ${pid} ${pid} 0 -1 4194304 10 0 0 0 ${o.ticks} 0 ${o.childTicks ?? 0} 0 20 0 1 0 500 1000000 ${o.rssPages ?? 10} 0\n`);
  writeFileSync(join(dir, "statm"), `250 ${o.statmPages ?? o.rssPages ?? 10} 5 1 0 20 0\n`);
  writeFileSync(join(dir, "io"), `rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: ${o.readBytes}\nwrite_bytes: 0\ncancelled_write_bytes: 0\n`);
}

/** Runs scans 10 s apart (uptime 100, 110, ...) and returns each scan's read rate of `pid`. */
function scanner(detailEvery: number) {
  const fs = createProcFs(root);
  let states = new Map<number, ProcState>();
  let uptime: number | undefined;
  let round = 0;
  return (pid: number) => {
    const now = uptime === undefined ? 100 : uptime + 10;
    const r = scanProcesses(fs, states, uptime, uptime === undefined ? 0 : now - uptime, {}, { uptime: now, round: round++, detailEvery });
    states = r.states;
    uptime = now;
    const p = r.processes.find((x) => x.pid === pid)!;
    return { read: p.readBytesPerS, rss: p.rssBytes };
  };
}

describe("io and statm of idle processes every Nth scan", () => {
  test("an idle process that starts doing IO is reported, its bytes spread over the time since the last read", () => {
    const pid = 1000; // (pid + round) % 4 === 0 at rounds 0, 4, 8
    writeProcess(pid, { ticks: 5, readBytes: 0 });
    const scan = scanner(4);
    expect(scan(pid).read).toBe(0); // round 0 (priming)
    writeProcess(pid, { ticks: 5, readBytes: 40_000 }); // IO with no CPU tick: not re-read until round 4
    expect(scan(pid).read).toBe(0); // 1
    expect(scan(pid).read).toBe(0); // 2
    expect(scan(pid).read).toBe(0); // 3
    // round 4 reads io: 40,000 bytes since round 0, i.e. over 40 s
    expect(scan(pid).read).toBe(1000);
    expect(scan(pid).read).toBe(0); // 5: nothing new (and not read)
  });

  test("a process whose CPU time moved is read in full every scan", () => {
    const pid = 1001; // its detail rounds are 3, 7, ...
    writeProcess(pid, { ticks: 5, readBytes: 0 });
    const scan = scanner(4);
    scan(pid); // 0
    writeProcess(pid, { ticks: 6, readBytes: 10_000 });
    expect(scan(pid).read).toBe(1000); // 1: moved, read at once, over one 10 s window
    writeProcess(pid, { ticks: 7, readBytes: 30_000 });
    expect(scan(pid).read).toBe(2000); // 2
  });

  test("a process that reaped a child is read at once: the kernel adds the child's io to it", () => {
    const pid = 1000;
    writeProcess(pid, { ticks: 5, readBytes: 0 });
    const scan = scanner(4);
    scan(pid); // 0
    // no CPU tick of its own, but a reaped child's ticks and io
    writeProcess(pid, { ticks: 5, readBytes: 20_000, childTicks: 3 });
    expect(scan(pid).read).toBe(2000); // 1
  });

  test("rss between statm reads comes from stat, so memory growth shows every scan", () => {
    const pid = 1001;
    writeProcess(pid, { ticks: 5, readBytes: 0, rssPages: 10, statmPages: 12 });
    const scan = scanner(4);
    expect(scan(pid).rss).toBe(12 * 4096); // first sight: statm read
    writeProcess(pid, { ticks: 5, readBytes: 0, rssPages: 20, statmPages: 22 });
    expect(scan(pid).rss).toBe(20 * 4096); // idle, not its round: stat's rss
    expect(scan(pid).rss).toBe(20 * 4096);
    expect(scan(pid).rss).toBe(22 * 4096); // round 3: (1001 + 3) % 4 === 0, statm again
  });

  test("detailEvery 1 reads every process every scan", () => {
    const pid = 1002;
    writeProcess(pid, { ticks: 5, readBytes: 0 });
    const scan = scanner(1);
    scan(pid);
    writeProcess(pid, { ticks: 5, readBytes: 5000 });
    expect(scan(pid).read).toBe(500);
  });
});
