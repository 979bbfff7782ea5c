// Reaped children on the real kernel: a shell that runs `dd` (200 MiB, fsync) and then sleeps must not show
// dd's bytes as its own, and dd must appear as an exited record; the same for CPU with a child that burns
// one CPU second. With taskstats (root, initial namespaces), with the /proc fallback, and through the
// compiled binary (`pmon agent --once`); in another network namespace no exit record arrives, which the
// capabilities say. Where this machine itself gives no taskstats (a container: another PID namespace), the
// agent must say so and why, and the /proc fallback must still keep the shell's figures its own.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createConsola } from "consola";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCollector, type Collector } from "../../../src/collect/collector.ts";
import { createExitSource, type ExitSource } from "../../../src/collect/exits.ts";
import { createLogger } from "../../../src/log.ts";
import { EPERM, SyscallError } from "../../../src/util/libc.ts";
import { createProcFs, type ProcFs } from "../../../src/procfs/fs.ts";
import { decodeReport, type ProcessRecord, type Report } from "../../../src/protocol/report.ts";
import { requireBinary, ROOT } from "../../helpers/binary.ts";
import { DEFAULT_THRESHOLDS } from "../../helpers/collect/helpers.ts";

setDefaultTimeout(120_000);

const MiB = 1024 * 1024;
const DD_MIB = 200;
const TMPFS_MAGIC = 0x01021994;
const log = createLogger("silent");
let work: string;
const shells: Bun.Subprocess[] = [];
const sources: ExitSource[] = [];

// What the kernel allows this process, read from /proc, not from the agent: its probe must come to the same.
// The initial PID and user namespaces have fixed inode numbers (include/linux/proc_ns.h).
const PROC_USER_INIT_INO = 0xeffffffd;
const PROC_PID_INIT_INO = 0xeffffffc;
const CAP_NET_ADMIN = 12n;
const nsInode = (kind: string) => statSync(`/proc/self/ns/${kind}`).ino;
interface Allowed {
  pidNs: boolean;
  userNs: boolean;
  netAdmin: boolean;
  netNs: boolean;
}
const here: Allowed = {
  pidNs: nsInode("pid") === PROC_PID_INIT_INO,
  userNs: nsInode("user") === PROC_USER_INIT_INO,
  netAdmin: ((BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "latin1"))![1]}`) >> CAP_NET_ADMIN) & 1n) === 1n,
  // the initial network namespace has no fixed inode: the tests run in the machine's own (another one is below)
  netNs: true,
};

/**
 * Why the agent gets no taskstats where `a` holds (capabilities.taskstats_off, and words of its log line);
 * undefined: it gets them. In the kernel's order, most basic first: no privilege helps outside the initial
 * PID namespace.
 */
function noTaskstats(a: Allowed): { code: string; says: string } | undefined {
  if (!a.pidNs) return { code: "not_initial_pid_namespace", says: "initial PID and user namespaces only" };
  if (!a.userNs) return { code: "not_initial_user_namespace", says: "needs CAP_NET_ADMIN" };
  if (!a.netAdmin) return { code: "no_cap_net_admin", says: "needs CAP_NET_ADMIN" };
  if (!a.netNs) return { code: "not_initial_network_namespace", says: "initial network namespace only" };
  return undefined;
}
const off = noTaskstats(here);
const fallbackCapabilities = (why: { code: string }) => ({ taskstats: false, taskstats_off: why.code, exit_accounting: "proc_threads" });

beforeAll(() => {
  // on the repo's disk: on a tmpfs written bytes never reach the block layer and write_bytes stays 0
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  work = mkdtempSync(join(ROOT, ".tmp", "exits-live-"));
  if (statfsSync(work).type === TMPFS_MAGIC) throw new Error(`${work} is on a tmpfs: dd's bytes would never count as written`);
});

afterAll(() => {
  for (const s of shells) s.kill("SIGKILL");
  for (const s of sources) s.close();
  for (const p of procs) p.close();
  rmSync(work, { recursive: true, force: true });
});

/** each keeps a stat descriptor per process: closed at the end */
const procs: ProcFs[] = [];

function collectorWith(exits: ExitSource): Collector {
  sources.push(exits);
  const proc = createProcFs("/proc", { keepStatFiles: true }); // as the agent reads it
  procs.push(proc);
  return createCollector({
    proc,
    sysRoot: "/sys",
    host: "live",
    agentVersion: "test",
    mounts: [],
    topN: 100_000, // keep every process so the shell is always reported
    thresholds: DEFAULT_THRESHOLDS,
    log,
    exits,
  });
}

/**
 * Primes `c`, runs `sh -c '<child>; echo > marker; sleep 60; true'` (the trailing `true` keeps sh from exec'ing
 * sleep: the shell must stay the parent), waits for the marker, then collects one report.
 */
async function shellRunning(c: Collector, child: string, name: string): Promise<{ report: Report; shell: number }> {
  const marker = join(work, `${name}.done`);
  expect(c.collect()).toBeNull();
  const sh = Bun.spawn(["sh", "-c", `${child} && echo > '${marker}'; sleep 60; true`], { stdio: ["ignore", "ignore", "inherit"] });
  shells.push(sh);
  const deadline = Date.now() + 90_000;
  while (!existsSync(marker)) {
    if (Date.now() > deadline) throw new Error(`${name}: the child did not finish in 90 s`);
    await Bun.sleep(50);
  }
  await Bun.sleep(100); // the shell reaps the child before it runs echo; the marker is already past that
  const r = c.collect();
  if (!r) throw new Error("no report");
  return { report: decodeReport(JSON.parse(JSON.stringify(r))), shell: sh.pid };
}

const seconds = (r: Report) => r.interval_ms / 1000;
const writtenMiB = (r: Report, p: ProcessRecord) => (p.write_bytes_per_s * seconds(r)) / MiB;
const cpuSeconds = (r: Report, p: ProcessRecord) => (p.cpu_pct / 100) * seconds(r);

function find(r: Report, pid: number): ProcessRecord {
  const p = r.processes.find((x) => x.pid === pid && !x.exited);
  if (!p) throw new Error(`pid ${pid} not in the report`);
  return p;
}

function exitedChild(r: Report, shell: number, comm: string): ProcessRecord | undefined {
  return r.processes.find((p) => p.exited && p.ppid === shell && p.comm === comm);
}

/** What the kernel shows for the shell itself: its reaped child's io and CPU are in there. */
function kernelView(pid: number): { writtenMiB: number; childTicks: number } {
  const io = readFileSync(`/proc/${pid}/io`, "latin1");
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { writtenMiB: Number(/\nwrite_bytes: (\d+)/.exec(io)![1]) / MiB, childTicks: Number(f[13]) + Number(f[14]) };
}

const dd = (file: string, mib: number) => `dd if=/dev/zero of='${file}' bs=1M count=${mib} conv=fsync status=none`;
// burns one second of its own CPU, whatever else the shared machine does
const burnOneCpuSecond = `'${process.execPath}' -e 'for (;;) { const u = process.cpuUsage(); if (u.user + u.system >= 1e6) break; }'`;

describe(off ? `this machine gives no taskstats (${off.code}): the /proc fallback` : "with taskstats", () => {
  let exits: ExitSource;
  const lines: string[] = [];
  beforeAll(() => {
    exits = createExitSource("/proc", createConsola({ level: 3, reporters: [{ log: (o) => lines.push(o.args.join(" ")) }] }))!;
  });

  if (!off) {
    test("this machine gives taskstats (root, initial namespaces), so the tests below use it", () => {
      expect(exits.capabilities).toEqual({ taskstats: true, taskstats_version: expect.any(Number), exit_accounting: "taskstats" });
    });
  } else {
    test(`this machine gives no taskstats (${off.code}): the capabilities and the start-up line say why`, () => {
      expect(exits.capabilities).toEqual(fallbackCapabilities(off));
      expect(lines.join("\n")).toContain(`exits: taskstats off (`);
      expect(lines.join("\n")).toContain(off.says);
    });
  }

  test(`the shell shows < 5 % of its child's ${DD_MIB} MiB; ${off ? "dd, gone between samples, is not seen" : `dd is an exited record with ~${DD_MIB} MiB written`}`, async () => {
    const c = collectorWith(exits);
    const { report, shell } = await shellRunning(c, dd(join(work, "dd.bin"), DD_MIB), "dd");
    expect(kernelView(shell).writtenMiB).toBeGreaterThanOrEqual(DD_MIB); // the kernel did credit dd to the shell
    expect(writtenMiB(report, find(report, shell))).toBeLessThan(0.05 * DD_MIB);
    const ddRecord = exitedChild(report, shell, "dd");
    if (off) {
      expect(ddRecord).toBeUndefined(); // short-lived processes need taskstats
      expect(report.capabilities).toMatchObject(fallbackCapabilities(off));
      return;
    }
    expect(ddRecord).toBeDefined();
    expect(writtenMiB(report, ddRecord!)).toBeGreaterThan(0.95 * DD_MIB);
    expect(writtenMiB(report, ddRecord!)).toBeLessThan(1.05 * DD_MIB);
    expect([ddRecord!.rss_bytes, ddRecord!.threads]).toEqual([0, 0]);
    expect(report.capabilities.exit_accounting).toBe("taskstats");
  });

  test(`CPU: the shell's utime/stime exclude its child's second; ${off ? "the child, gone between samples, is not seen" : "the child is an exited record with it"}`, async () => {
    const c = collectorWith(exits);
    const { report, shell } = await shellRunning(c, burnOneCpuSecond, "cpu");
    expect(kernelView(shell).childTicks).toBeGreaterThanOrEqual(90); // cutime + cstime hold the child's second
    expect(cpuSeconds(report, find(report, shell))).toBeLessThan(0.05);
    const child = report.processes.find((p) => p.exited && p.ppid === shell);
    if (off) {
      expect(child).toBeUndefined();
      expect(report.capabilities).toMatchObject(fallbackCapabilities(off));
      return;
    }
    expect(child).toBeDefined();
    // one second burned, plus the runtime's start and exit
    expect(cpuSeconds(report, child!)).toBeGreaterThan(0.95);
    expect(cpuSeconds(report, child!)).toBeLessThan(2);
  });
});

describe("without taskstats: the /proc fallback", () => {
  test("refused (no CAP_NET_ADMIN): capabilities say so, and the shell still shows < 5 % of its child's bytes", async () => {
    const exits = createExitSource("/proc", log, () => {
      throw new SyscallError("netlink request", EPERM);
    })!;
    const refused = noTaskstats({ ...here, netAdmin: false })!;
    expect(exits.capabilities).toEqual(fallbackCapabilities(refused));
    const c = collectorWith(exits);
    const { report, shell } = await shellRunning(c, dd(join(work, "dd-fallback.bin"), DD_MIB), "dd-fallback");
    expect(kernelView(shell).writtenMiB).toBeGreaterThanOrEqual(DD_MIB);
    expect(writtenMiB(report, find(report, shell))).toBeLessThan(0.05 * DD_MIB);
    expect(exitedChild(report, shell, "dd")).toBeUndefined(); // short-lived processes need taskstats
    expect(report.capabilities).toMatchObject(fallbackCapabilities(refused));
  });

  /** The agent's exit source started under `prefix` (unshare, setpriv): its capabilities and log lines. */
  function agentUnder(prefix: string[]): { capabilities: Record<string, unknown>; lines: string[] } {
    const code = `
      const { createExitSource } = await import(${JSON.stringify(join(ROOT, "src/collect/exits.ts"))});
      const lines = [];
      const log = { info: (m) => lines.push(m), debug() {}, warn() {}, error() {}, withTag() { return log; } };
      const s = createExitSource("/proc", log);
      console.log(JSON.stringify({ capabilities: s.capabilities, lines }));
      s.close();`;
    const p = Bun.spawnSync([...prefix, process.execPath, "-e", code], { stderr: "pipe" });
    expect(p.stderr.toString()).toBe("");
    return JSON.parse(p.stdout.toString());
  }

  // Each takes one more thing away from this machine; the reason is the most basic thing missing then.
  test.each([
    ["another network namespace: no exit record arrives (the kernel sends them into the initial one)", ["unshare", "--net", "--"], { netNs: false }],
    ["another PID namespace: the kernel refuses the listener", ["unshare", "--pid", "--fork", "--mount-proc", "--"], { pidNs: false }],
    ["CAP_NET_ADMIN dropped (bounding set): the kernel refuses the listener", ["setpriv", "--bounding-set=-net_admin", "--"], { netAdmin: false }],
  ] as [string, string[], Partial<Allowed>][])("%s: the agent falls back and says why", (_, prefix, taken) => {
    const why = noTaskstats({ ...here, ...taken })!;
    const out = agentUnder(prefix);
    expect(out.capabilities).toEqual(fallbackCapabilities(why));
    expect(out.lines.join("\n")).toContain(why.says);
  });

  const userns = ["unshare", "--user", "--map-root-user", "--"];
  const made = Bun.spawnSync([...userns, "true"], { stderr: "pipe" });
  const title =
    made.exitCode === 0
      ? "another user namespace: no CAP_NET_ADMIN where it counts: the agent falls back and says why"
      : "another user namespace: the kernel makes none for this (chrooted) process, so no agent runs in one here";
  test(title, () => {
    if (made.exitCode !== 0) {
      // The kernel makes no user namespace for a chrooted process (a build root, a check machine entered
      // with chroot), so no agent can run in one here. Not a seccomp filter, not the sysctl, and other
      // namespaces can still be made: it is the user namespace the kernel refuses.
      expect(made.stderr.toString()).toBe("unshare: unshare failed: Operation not permitted\n");
      expect(readFileSync("/proc/self/status", "latin1")).toMatch(/^Seccomp:\s+0$/m);
      expect(readFileSync("/proc/sys/user/max_user_namespaces", "latin1").trim()).not.toBe("0");
      expect(Bun.spawnSync(["unshare", "--net", "--", "true"]).exitCode).toBe(0);
      return;
    }
    const why = noTaskstats({ ...here, userNs: false })!;
    const out = agentUnder(userns);
    expect(out.capabilities).toEqual(fallbackCapabilities(why));
    expect(out.lines.join("\n")).toContain(why.says);
  });
});

describe("through the compiled binary", () => {
  test(`pmon agent --once: ${off ? `no taskstats here (${off.code}), so a dd that lives inside the window is not seen` : "a dd that lives inside the window is an exited record"}, its shell shows < 5 % of it`, async () => {
    const config = join(work, "empty.toml");
    writeFileSync(config, "");
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PMON_")));
    const agent = Bun.spawn([requireBinary(), "agent", "--config", config, "--once", "--json", "--sample-ms", "6000", "--top-n", "1000", "--log-level", "debug"], {
      env,
      stdout: "pipe",
      stderr: "pipe",
    }); // every process kept, so the shell has its own record
    const stdout = new Response(agent.stdout).text();
    const reader = agent.stderr.getReader();
    let stderr = "";
    while (!stderr.includes("network: window starts")) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += new TextDecoder().decode(value);
    }
    // the one start-up line
    if (off) expect(stderr).toContain("exits: taskstats off (");
    expect(stderr).toContain(off ? off.says : "exits: taskstats version");
    // the agent primes right after that line; dd starts a second later, well inside the window
    const reaped = join(work, "dd-once.done");
    const sh = Bun.spawn(["sh", "-c", `sleep 1; ${dd(join(work, "dd-once.bin"), DD_MIB)} && echo > '${reaped}'; sleep 60; true`], { stdio: ["ignore", "ignore", "inherit"] });
    shells.push(sh);
    expect(await agent.exited).toBe(0);
    const report = decodeReport(JSON.parse(await stdout));
    const ddRecord = exitedChild(report, sh.pid, "dd");
    if (off) {
      expect(report.capabilities).toMatchObject(fallbackCapabilities(off));
      expect(ddRecord).toBeUndefined();
    } else {
      expect(report.capabilities).toMatchObject({ taskstats: true, exit_accounting: "taskstats" });
      expect(ddRecord).toBeDefined();
      expect(writtenMiB(report, ddRecord!)).toBeGreaterThan(0.95 * DD_MIB);
      expect(writtenMiB(report, ddRecord!)).toBeLessThan(1.05 * DD_MIB);
    }
    // the shell had reaped dd (the kernel credited dd's bytes to it) before the window ended
    expect(statSync(reaped).mtimeMs).toBeLessThan(report.time);
    expect(kernelView(sh.pid).writtenMiB).toBeGreaterThanOrEqual(DD_MIB);
    const shell = report.processes.find((p) => p.pid === sh.pid);
    expect(shell).toBeDefined();
    expect(writtenMiB(report, shell!)).toBeLessThan(0.05 * DD_MIB);
  });
});
