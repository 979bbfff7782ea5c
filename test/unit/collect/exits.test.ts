// Exit accounting on built scans and exit records: what a reaped child did leaves its parent's rates, processes
// that ended in the window become records, zombies wait, autoreaped children are not subtracted; and the /proc
// fallback on a built tree.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExitAccounting, refusedBecause, subtractByThreadSums, type ExitSource, type ExitWindow } from "../../../src/collect/exits.ts";
import type { ProcessSample, ProcState } from "../../../src/collect/processes.ts";
import { createProcFs } from "../../../src/procfs/fs.ts";
import type { TaskExit } from "../../../src/net/taskstats.ts";

const MiB = 1024 * 1024;
const BTIME = 1_700_000_000;
const DT = 30;
/** the window is [boot + 1000 s, boot + 1030 s] */
const WINDOW_START_S = BTIME + 1000;

interface ProcOpts {
  pid: number;
  ppid: number;
  comm?: string;
  /** seconds after boot */
  startAfterBootS?: number;
  /** cumulative /proc/PID/io now */
  read?: number;
  write?: number;
  /** rates the scan computed from the /proc deltas */
  writePerS?: number;
  readPerS?: number;
  cpuTicks?: number;
  /** cminflt now (the reap signature) and in the previous scan (undefined = not seen before) */
  cminflt?: number;
  prevCminflt?: number;
}

function sample(o: ProcOpts): ProcessSample {
  const starttime = (o.startAfterBootS ?? 10) * 100;
  const state: ProcState = {
    starttime,
    cpuTicks: o.cpuTicks ?? 0,
    readBytes: o.read ?? 0,
    writeBytes: o.write ?? 0,
    uid: 0,
    comm: o.comm ?? "sh",
    reapSignature: o.prevCminflt,
  };
  return {
    pid: o.pid,
    stat: { pid: o.pid, comm: o.comm ?? "sh", state: "S", ppid: o.ppid, cminflt: o.cminflt ?? 0, utime: 0, stime: 0, cutime: 0, cstime: 0, numThreads: 1, starttime, rss: 100 },
    state,
    cpuPct: 0,
    rssBytes: 100 * 4096,
    readBytesPerS: o.readPerS ?? 0,
    writeBytesPerS: o.writePerS ?? 0,
    netRxBytesPerS: 0,
    netTxBytesPerS: 0,
  };
}

function exit(o: Partial<TaskExit> & { pid: number; ppid: number }): TaskExit {
  return {
    version: 16,
    tgid: o.pid,
    groupDead: true,
    comm: "dd",
    uid: 0,
    exitCode: 0,
    startS: WINDOW_START_S + 5,
    utimeUs: 0,
    stimeUs: 0,
    readBytes: 0,
    writeBytes: 0,
    cancelledWriteBytes: 0,
    ...o,
  };
}

function window(processes: ProcessSample[], prev: ProcState[] = [], prevPids: number[] = []): ExitWindow {
  return {
    fs: createProcFs("/nonexistent"),
    scan: { processes, states: new Map(processes.map((p) => [p.pid, p.state])) },
    prevStates: new Map(prev.map((s, i) => [prevPids[i]!, s])),
    btime: BTIME,
    dtSec: DT,
    errors: {},
  };
}

const noSource: ExitSource = { drain: () => ({ exits: [], errors: {} }), capabilities: {}, close() {} };

describe("exit records", () => {
  test("a child born and reaped in the window: its io leaves the parent, it becomes an exited record with its own io and CPU", () => {
    const sh = sample({ pid: 100, ppid: 1, write: 201 * MiB, writePerS: (201 * MiB) / DT, cminflt: 300, prevCminflt: 10 });
    const out = new ExitAccounting(noSource).accountExits([exit({ pid: 101, ppid: 100, writeBytes: 200 * MiB, readBytes: MiB, utimeUs: 500_000, stimeUs: 1_000_000 })], window([sh]));
    expect(sh.writeBytesPerS).toBeCloseTo(MiB / DT, 6); // the shell's own 1 MiB stays
    expect(sh.state.childWriteBytes).toBe(200 * MiB);
    expect(out).toHaveLength(1);
    const dd = out[0]!;
    expect([dd.pid, dd.exited, dd.stat.comm, dd.stat.ppid, dd.rssBytes, dd.stat.numThreads]).toEqual([101, true, "dd", 100, 0, 0]);
    expect(dd.writeBytesPerS).toBeCloseTo((200 * MiB) / DT, 6);
    expect(dd.readBytesPerS).toBeCloseTo(MiB / DT, 6);
    expect(dd.cpuPct).toBeCloseTo((1.5 / DT) * 100, 6);
    expect(dd.stat.starttime).toBe(1005 * 100); // from the record's start: 5 s into the window
    expect(dd.state.cmdlineArgs).toEqual([]); // never read from /proc: the pid may be someone else's by now
  });

  test("a subshell and its dd both ended: the parent loses both, each gets its own record", () => {
    const sh = sample({ pid: 100, ppid: 1, write: 53 * MiB, writePerS: (53 * MiB) / DT, cminflt: 50, prevCminflt: 10 });
    const out = new ExitAccounting(noSource).accountExits(
      [exit({ pid: 102, ppid: 101, writeBytes: 50 * MiB }), exit({ pid: 101, ppid: 100, comm: "sh", writeBytes: 1 * MiB })],
      window([sh]),
    );
    expect(sh.writeBytesPerS).toBeCloseTo((2 * MiB) / DT, 6);
    expect(out.map((s) => [s.pid, Math.round((s.writeBytesPerS * DT) / MiB)]).sort()).toEqual([
      [101, 1],
      [102, 50],
    ]);
  });

  test("threads: only the last thread ends the process; its record sums every thread's record in the window", () => {
    const java = sample({ pid: 800, ppid: 1, comm: "java" });
    const threadOfLive = exit({ pid: 850, tgid: 800, ppid: 1, groupDead: false, writeBytes: 9 * MiB });
    const app = [exit({ pid: 901, tgid: 900, ppid: 100, groupDead: false, comm: "worker", writeBytes: 3 * MiB }), exit({ pid: 900, tgid: 900, ppid: 100, comm: "app", writeBytes: MiB, startS: WINDOW_START_S + 1 })];
    const sh = sample({ pid: 100, ppid: 1, write: 4 * MiB, writePerS: (4 * MiB) / DT, cminflt: 2, prevCminflt: 1 });
    const out = new ExitAccounting(noSource).accountExits([threadOfLive, ...app], window([java, sh]));
    expect(out.map((s) => [s.pid, s.stat.comm, Math.round((s.writeBytesPerS * DT) / MiB)])).toEqual([[900, "app", 4]]);
    expect(sh.writeBytesPerS).toBe(0);
    expect(java.state.childWriteBytes).toBeUndefined(); // a thread's exit moves nothing
  });

  test("a zombie (still in the scan) is not subtracted yet: its parent reads it at reaping, in the next window", () => {
    const acc = new ExitAccounting(noSource);
    const sh = sample({ pid: 100, ppid: 1, write: 10 * MiB, writePerS: 0, cminflt: 5, prevCminflt: 5 });
    const zombie = sample({ pid: 101, ppid: 100, comm: "dd", startAfterBootS: 1005, write: 40 * MiB, writePerS: (40 * MiB) / DT });
    const record = exit({ pid: 101, ppid: 100, writeBytes: 40 * MiB });
    expect(acc.accountExits([record], window([sh, zombie]))).toEqual([]);
    expect(sh.state.childWriteBytes).toBeUndefined();
    // next window: reaped; the shell's reading grew by the zombie's 40 MiB
    const sh2 = sample({ pid: 100, ppid: 1, write: 50 * MiB, writePerS: (40 * MiB) / DT, cminflt: 90, prevCminflt: 5 });
    const out = acc.accountExits([], window([sh2], [zombie.state], [101]));
    expect(sh2.writeBytesPerS).toBe(0);
    expect(out.map((s) => [s.pid, s.writeBytesPerS])).toEqual([[101, 0]]); // its io was all reported while it lived
  });

  test("a child seen by the previous scan: its record covers only what came after, the parent loses its whole reading", () => {
    const prevDd = sample({ pid: 101, ppid: 100, comm: "dd", startAfterBootS: 990, write: 120 * MiB, cpuTicks: 50 }).state;
    const sh = sample({ pid: 100, ppid: 1, write: 200 * MiB, writePerS: (200 * MiB) / DT, cminflt: 80, prevCminflt: 0 });
    const out = new ExitAccounting(noSource).accountExits([exit({ pid: 101, ppid: 100, startS: BTIME + 990, writeBytes: 200 * MiB, utimeUs: 800_000 })], window([sh], [prevDd], [101]));
    expect(sh.writeBytesPerS).toBe(0);
    expect(out).toHaveLength(1);
    expect(out[0]!.writeBytesPerS).toBeCloseTo((80 * MiB) / DT, 6);
    expect(out[0]!.cpuPct).toBeCloseTo((0.3 / DT) * 100, 6); // 80 ticks at exit, 50 seen before
    expect(out[0]!.stat.starttime).toBe(990 * 100); // same identity as its live records
  });

  test("a parent whose children counters did not move reaped nothing (SIGCHLD ignored): nothing is taken from it", () => {
    const daemon = sample({ pid: 100, ppid: 1, write: 5 * MiB, writePerS: (5 * MiB) / DT, cminflt: 7, prevCminflt: 7 });
    const out = new ExitAccounting(noSource).accountExits([exit({ pid: 101, ppid: 100, writeBytes: 3 * MiB })], window([daemon]));
    expect(daemon.writeBytesPerS).toBeCloseTo((5 * MiB) / DT, 6);
    expect(out).toHaveLength(1);
  });

  test("a pid reused in the window: the new process is not mistaken for the zombie of the old one", () => {
    const sh = sample({ pid: 100, ppid: 1, write: 8 * MiB, writePerS: (8 * MiB) / DT, cminflt: 3, prevCminflt: 1 });
    const newcomer = sample({ pid: 101, ppid: 1, comm: "cron", startAfterBootS: 1020 });
    const out = new ExitAccounting(noSource).accountExits([exit({ pid: 101, ppid: 100, startS: WINDOW_START_S + 2, writeBytes: 8 * MiB })], window([sh, newcomer]));
    expect(sh.writeBytesPerS).toBe(0);
    expect(out.map((s) => s.pid)).toEqual([101]);
  });
});

describe("the /proc fallback (no taskstats)", () => {
  const root = mkdtempSync(join(tmpdir(), "pmon-exits-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const io = (read: number, write: number) => `rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: ${read}\nwrite_bytes: ${write}\ncancelled_write_bytes: 0\n`;
  function threads(pid: number, perThread: [number, number][]): void {
    rmSync(join(root, String(pid)), { recursive: true, force: true });
    perThread.forEach(([r, w], i) => {
      mkdirSync(join(root, String(pid), "task", String(pid + i)), { recursive: true });
      writeFileSync(join(root, String(pid), "task", String(pid + i), "io"), io(r, w));
    });
  }

  test("a process that reaped in the window keeps only what its live threads did", () => {
    threads(100, [
      [0, 2 * MiB],
      [0, MiB],
    ]);
    const sh = sample({ pid: 100, ppid: 1, write: 203 * MiB, writePerS: (203 * MiB) / DT, cminflt: 40, prevCminflt: 1 });
    sh.state.childWriteBytes = 0;
    const w = { ...window([sh]), fs: createProcFs(root) };
    subtractByThreadSums(w);
    expect(sh.writeBytesPerS).toBeCloseTo((3 * MiB) / DT, 6);
    expect(sh.state.childWriteBytes).toBe(200 * MiB);
    // the next window, nothing reaped: the threads are not read again and nothing more is taken
    threads(100, []);
    const again = sample({ pid: 100, ppid: 1, write: 204 * MiB, writePerS: MiB / DT, cminflt: 40, prevCminflt: 40 });
    again.state.childWriteBytes = 200 * MiB;
    subtractByThreadSums({ ...window([again]), fs: createProcFs(root) });
    expect(again.writeBytesPerS).toBeCloseTo(MiB / DT, 6);
    expect(w.errors).toEqual({});
  });

  test("first sight of a process that has reaped before: its children's share becomes the baseline", () => {
    threads(200, [[MiB, 0]]);
    const born = sample({ pid: 200, ppid: 1, read: 11 * MiB, readPerS: (11 * MiB) / DT, cminflt: 9 });
    subtractByThreadSums({ ...window([born]), fs: createProcFs(root) });
    expect(born.state.childReadBytes).toBe(10 * MiB);
    expect(born.readBytesPerS).toBeCloseTo(MiB / DT, 6); // born in the window: its rate started from 0
  });
});

describe("why the kernel refused the taskstats listener", () => {
  const host = { initialPid: true, initialUser: true };
  test.each([
    ["root without CAP_NET_ADMIN on the host", 1, host, "no_cap_net_admin", "needs CAP_NET_ADMIN"],
    ["EACCES as EPERM", 13, host, "no_cap_net_admin", "needs CAP_NET_ADMIN"],
    ["a container's root (another PID namespace)", 22, { initialPid: false, initialUser: true }, "not_initial_pid_namespace", "initial PID and user namespaces only"],
    ["a container's user without CAP_NET_ADMIN: granting it would not help", 1, { initialPid: false, initialUser: true }, "not_initial_pid_namespace", "initial PID and user namespaces only"],
    ["root of another user namespace", 1, { initialPid: true, initialUser: false }, "not_initial_user_namespace", "needs CAP_NET_ADMIN in the initial user namespace"],
    ["EINVAL where /proc does not say which namespace", 22, { initialPid: undefined, initialUser: undefined }, "refused", "initial PID and user namespaces only"],
    ["no TASKSTATS family", 2, { initialPid: false, initialUser: false }, "no_taskstats_family", "no TASKSTATS family"],
    ["anything else keeps its message", 0, host, "error", "socket: boom"],
  ] as const)("%s", (_, errno, ns, code, why) => {
    const r = refusedBecause(errno, ns, "socket: boom");
    expect(r.code).toBe(code);
    expect(r.why).toContain(why);
  });
});
