// /proc/PID/stat through kept descriptors, on the live kernel: fresh figures from the same descriptor, a
// process that ends is reported gone (never another process's figures), and descriptors are let go.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isGone } from "../../../src/procfs/errors.ts";
import { keepBudget, PidStatFiles } from "../../../src/procfs/pid-stat-files.ts";

const children: Bun.Subprocess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

function text(r: { buf: Buffer; len: number }): string {
  return r.buf.toString("latin1", 0, r.len);
}

/** utime + stime in ticks, from a stat line */
function cpuTicks(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** descriptors of this process open on `path` (a kept file of a process that is gone may read "(deleted)") */
function fdsOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      if (link === path || link.startsWith(`${path} `)) n++;
    } catch {
      // the listing's own descriptor, closed by now
    }
  }
  return n;
}

function burner(): Bun.Subprocess {
  const p = Bun.spawn(["sh", "-c", "while :; do :; done"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  children.push(p);
  return p;
}

describe("PidStatFiles on the live kernel", () => {
  test("reads what the file holds, and the kept descriptor gives fresh figures each time", async () => {
    const files = new PidStatFiles("/proc");
    const p = burner();
    try {
      const first = text(files.read(p.pid));
      expect(first.startsWith(`${p.pid} (sh) `)).toBe(true);
      // the same line as an ordinary read, but for the figures that move
      expect(first.split(" ").slice(0, 5)).toEqual(readFileSync(`/proc/${p.pid}/stat`, "latin1").split(" ").slice(0, 5));
      expect(files.size).toBe(1);
      const fdsKept = openFds();
      await Bun.sleep(300);
      const second = text(files.read(p.pid));
      expect(cpuTicks(second)).toBeGreaterThan(cpuTicks(first)); // a burner uses CPU in 300 ms
      expect(files.size).toBe(1);
      expect(openFds()).toBe(fdsKept); // read through the kept descriptor, nothing opened
    } finally {
      files.close();
    }
  });

  test("a process that ended is gone, and its descriptor is closed", async () => {
    const files = new PidStatFiles("/proc");
    const p = burner();
    const stat = `/proc/${p.pid}/stat`;
    files.read(p.pid);
    expect(fdsOn(stat)).toBe(1);
    p.kill("SIGKILL");
    await p.exited; // reaped: the kept descriptor now answers ESRCH
    let error: unknown;
    try {
      files.read(p.pid);
    } catch (e) {
      error = e;
    }
    expect(isGone(error)).toBe(true);
    expect(files.size).toBe(0);
    expect(fdsOn(stat)).toBe(0);
    expect(fdsOn("/proc")).toBeGreaterThan(0); // the root's descriptor, until close
    files.close();
    expect(fdsOn("/proc")).toBe(0);
  });

  test("retain closes the descriptors of processes not listed; the budget caps what is kept", () => {
    const a = burner();
    const b = burner();
    const files = new PidStatFiles("/proc", 1);
    try {
      files.read(a.pid);
      files.read(b.pid); // over the budget: read, then closed
      expect(text(files.read(b.pid)).startsWith(`${b.pid} `)).toBe(true);
      expect(files.size).toBe(1);
      files.retain(new Set([b.pid]));
      expect(files.size).toBe(0);
      expect(text(files.read(a.pid)).startsWith(`${a.pid} `)).toBe(true); // opened again
    } finally {
      files.close();
    }
  });

  test("a tree of plain files reads the same way; a missing pid is gone", () => {
    const root = mkdtempSync(join(tmpdir(), "pmon-stat-files-"));
    try {
      mkdirSync(join(root, "42"));
      writeFileSync(join(root, "42", "stat"), "42 (x) S 1 42 42 0 -1 0 0 0 0 0 7 3\n");
      const files = new PidStatFiles(root);
      expect(text(files.read(42))).toBe("42 (x) S 1 42 42 0 -1 0 0 0 0 0 7 3\n");
      let error: unknown;
      try {
        files.read(43);
      } catch (e) {
        error = e;
      }
      expect(isGone(error)).toBe(true);
      expect((error as Error).message).toBe(`ENOENT: ${root}/43/stat`);
      files.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("keepBudget", () => {
  const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                524288               files\n`;
  test("half the soft open-file limit less a reserve, capped", () => {
    expect(keepBudget(limits("20000"))).toBe(9488);
    expect(keepBudget(limits("1024"))).toBe(0);
    expect(keepBudget(limits("1048576"))).toBe(32768);
    expect(keepBudget(limits("unlimited"))).toBe(32768);
    expect(keepBudget("nothing here")).toBe(0);
  });
});
