// A real Debian host with systemd as PID 1, booted with systemd-nspawn in a network namespace the test
// creates. The bare root (debootstrap + systemd, dbus, sshd, iproute2) is built once and cached outside the
// repo, keyed by a hash of what went into it; each host boots a private copy, so tests can install packages,
// add users and break things freely. The host is reachable from this machine over a veth pair:
// `hostAddr` (this side) <-> `addr` (the container's eth0).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive } from "../helpers/pid.ts";
import { run, waitFor, type RunResult } from "./lab.ts";

/** What the cached root holds beyond debootstrap's minbase. */
export const HOST_PACKAGES = ["systemd", "systemd-sysv", "dbus", "iproute2", "openssh-server"];

// Bumped when the way the root is prepared changes, so old caches are not reused.
const ROOT_RECIPE = "1";

export interface SystemdHost {
  name: string;
  netns: string;
  /** the container's address (eth0) */
  addr: string;
  /** this machine's end of the veth pair */
  hostAddr: string;
  /** the container's / as a directory on this machine (files written here appear inside) */
  root: string;
  /** pid (on this machine) of the container's systemd */
  initPid: number;
  /** runs argv inside the container (all of its namespaces) and waits */
  exec(argv: string[], opts?: { timeoutMs?: number; stdin?: string }): Promise<RunResult>;
  /** like exec, but throws with the output when the command fails */
  must(argv: string[], opts?: { timeoutMs?: number; stdin?: string }): Promise<string>;
  /** `systemctl poweroff` inside, then removes the namespace and the root copy */
  down(): Promise<void>;
}

export interface BootOptions {
  /** Debian packages installed in the root beyond HOST_PACKAGES (a root per package set is cached) */
  extraPackages?: string[];
  /** hostname inside (letters, digits, "-"); default sd-<random> */
  name?: string;
  /** called with the root copy before boot, to put files in place */
  prepare?(root: string): void | Promise<void>;
}

async function must(argv: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(`systemd-host: ${argv.join(" ")} failed (${r.code}): ${(r.stderr + r.stdout).trim().slice(-2000)}`);
  return r.stdout;
}

/**
 * The Debian mirror and suite this machine's apt uses, so debootstrap fetches from the same place
 * (deb822 .sources files and one-line sources.list entries; security and third-party repos skipped).
 */
export function aptMirror(): { mirror: string; suite: string } {
  const osRelease = readFileSync("/etc/os-release", "utf8");
  const suite = /^VERSION_CODENAME=(\S+)/m.exec(osRelease)?.[1]?.replaceAll('"', "") ?? "";
  if (!suite) throw new Error("systemd-host: no VERSION_CODENAME in /etc/os-release");
  const files = ["/etc/apt/sources.list"];
  if (existsSync("/etc/apt/sources.list.d")) {
    for (const f of readdirSync("/etc/apt/sources.list.d").sort()) files.push(join("/etc/apt/sources.list.d", f));
  }
  const candidates: { uri: string; suites: string[] }[] = [];
  for (const f of files) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, "utf8");
    if (f.endsWith(".sources")) {
      for (const block of text.split(/\n\s*\n/)) {
        const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, "mi").exec(block)?.[1]?.trim().split(/\s+/) ?? [];
        if (!field("Types").includes("deb")) continue;
        for (const uri of field("URIs")) candidates.push({ uri, suites: field("Suites") });
      }
    } else {
      for (const line of text.split("\n")) {
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (m) candidates.push({ uri: m[1]!, suites: [m[2]!] });
      }
    }
  }
  const hit = candidates.find((c) => c.suites.includes(suite) && /\/debian\/?$/.test(c.uri));
  if (!hit) throw new Error(`systemd-host: no Debian mirror for ${suite} in /etc/apt/sources.list*`);
  return { mirror: hit.uri, suite };
}

function cacheBase(): string {
  return process.env.PMON_TEST_CACHE ?? "/var/cache/pmon-test";
}

/**
 * The bare root, built on first use and cached under /var/cache/pmon-test (PMON_TEST_CACHE), or under the
 * temp dir when that cannot be created.
 */
export async function systemdHostRoot(extraPackages: string[] = []): Promise<string> {
  for (const tool of ["debootstrap", "systemd-nspawn", "nsenter", "ip"]) {
    if (!Bun.which(tool)) throw new Error(`systemd-host: ${tool} is missing: run 'make test-deps' (scripts/install-test-deps.sh)`);
  }
  const { mirror, suite } = aptMirror();
  const packages = [...new Set([...HOST_PACKAGES, ...extraPackages])];
  for (const p of packages) if (!/^[a-z0-9][a-z0-9.+-]*$/.test(p)) throw new Error(`systemd-host: not a Debian package name: ${JSON.stringify(p)}`);
  const key = createHash("sha256").update(JSON.stringify({ ROOT_RECIPE, mirror, suite, packages })).digest("hex").slice(0, 16);
  let base = cacheBase();
  try {
    mkdirSync(base, { recursive: true });
  } catch {
    base = join(tmpdir(), "pmon-test-cache");
    mkdirSync(base, { recursive: true });
  }
  const root = join(base, `systemd-host-${suite}-${key}`);
  if (existsSync(join(root, ".complete"))) return root;
  // One builder at a time; others wait for it (a lock left by a dead builder is taken over).
  const lock = `${root}.lock`;
  await waitFor(`the systemd host root build lock ${lock}`, () => {
    if (existsSync(join(root, ".complete"))) return true;
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      return true;
    } catch {
      const owner = Number(readFileSync(join(lock, "pid"), "utf8") || 0);
      if (owner && !isAlive(owner)) rmSync(lock, { recursive: true, force: true });
      return false;
    }
  }, 20 * 60_000, 1000);
  try {
    if (existsSync(join(root, ".complete"))) return root;
    const building = `${root}.building`;
    rmSync(building, { recursive: true, force: true });
    await must(["debootstrap", "--variant=minbase", `--include=${packages.join(",")}`, suite, building, mirror], { timeoutMs: 20 * 60_000 });
    // No downloaded .debs in every copy; no first-boot questions; the console is passive.
    await must(["chroot", building, "apt-get", "clean"]);
    writeFileSync(join(building, "etc/machine-id"), "");
    rmSync(join(building, "etc/hostname"), { force: true });
    await must(["chroot", building, "systemctl", "mask", "systemd-firstboot.service", "console-getty.service", "getty@tty1.service"]);
    writeFileSync(join(building, ".complete"), `${new Date().toISOString()} ${suite} ${mirror} ${packages.join(" ")}\n`);
    rmSync(root, { recursive: true, force: true });
    renameSync(building, root);
    return root;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The container's PID 1: the child of systemd-nspawn whose command is systemd. */
function findInit(nspawnPid: number): number | undefined {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, "utf8");
      if (/^PPid:\s+(\d+)$/m.exec(status)?.[1] === String(nspawnPid) && /^Name:\s+systemd$/m.test(status)) return Number(d);
    } catch {}
  }
  return undefined;
}

// subnets picked by this process whose veth may not exist yet
const reserved = new Set<number>();

/** A 10.201.X.0/30 no interface of this machine uses yet (X starts from the pid, so parallel runs spread out). */
async function freeSubnet(): Promise<number> {
  const used = new Set([...(await must(["ip", "-o", "-4", "addr", "show"])).matchAll(/inet 10\.201\.(\d+)\./g)].map((m) => Number(m[1])));
  for (let i = 0; i < 250; i++) {
    const x = ((process.pid + i) % 250) + 1;
    if (!used.has(x) && !reserved.has(x)) {
      reserved.add(x);
      return x;
    }
  }
  throw new Error("systemd-host: every 10.201.X.0/30 is in use");
}

/**
 * Boots a private copy of the cached root. Call `down()` in afterAll; hosts of a test process killed before
 * that are removed by the next boot (bun test runs no exit handlers).
 */
export async function bootSystemdHost(opts: BootOptions = {}): Promise<SystemdHost> {
  sweepStaleHosts();
  const base = await systemdHostRoot(opts.extraPackages);
  const id = Math.random().toString(36).slice(2, 8);
  const name = opts.name ?? `sd-${id}`;
  const dir = mkdtempSync(join(tmpdir(), `pmon-sdhost-${id}-`));
  writeFileSync(join(dir, "owner.pid"), `${process.pid}\n`);
  const root = join(dir, "root");
  const netns = `pmon-sd-${id}`;
  const hostVeth = `pmsd-${id}`;
  const x = await freeSubnet();
  const hostAddr = `10.201.${x}.1`;
  const addr = `10.201.${x}.2`;
  let nspawn: ReturnType<typeof Bun.spawn> | undefined;
  let initPid = 0;
  let isDown = false;

  const cleanup = () => {
    if (initPid) {
      try {
        process.kill(initPid, "SIGKILL");
      } catch {}
    }
    Bun.spawnSync(["ip", "netns", "del", netns]);
    Bun.spawnSync(["ip", "link", "del", hostVeth]);
    Bun.spawnSync(["rm", "-rf", "--one-file-system", dir]);
    reserved.delete(x);
  };
  process.on("exit", () => {
    if (!isDown) cleanup();
  });

  const exec = (argv: string[], o: { timeoutMs?: number; stdin?: string } = {}) =>
    runIn(initPid, argv, o);
  const host: SystemdHost = {
    name,
    netns,
    addr,
    hostAddr,
    root,
    get initPid() {
      return initPid;
    },
    exec,
    async must(argv, o) {
      const r = await exec(argv, o);
      if (r.code !== 0) throw new Error(`${name}: ${argv.join(" ")} failed (${r.code}): ${(r.stderr + r.stdout).trim().slice(-3000)}`);
      return r.stdout;
    },
    async down() {
      if (isDown) return;
      isDown = true;
      if (initPid && nspawn) {
        await runIn(initPid, ["systemctl", "poweroff", "--no-block"], {});
        let timer: ReturnType<typeof setTimeout> | undefined;
        const exited = await Promise.race([nspawn.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 20_000)))]);
        clearTimeout(timer);
        if (!exited) {
          try {
            process.kill(initPid, "SIGKILL");
          } catch {}
          await nspawn.exited;
        }
      }
      initPid = 0;
      cleanup();
    },
  };

  try {
    await must(["cp", "-a", "--reflink=auto", base, root]);
    writeFileSync(join(root, "etc/hostname"), `${name}\n`);
    writeFileSync(join(root, "etc/hosts"), `127.0.0.1 localhost\n127.0.1.1 ${name}\n`);
    if (opts.prepare) await opts.prepare(root);

    await must(["ip", "netns", "add", netns]);
    await must(["ip", "link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    await must(["ip", "addr", "add", `${hostAddr}/30`, "dev", hostVeth]);
    await must(["ip", "link", "set", hostVeth, "up"]);
    await must(["ip", "-n", netns, "addr", "add", `${addr}/30`, "dev", "eth0"]);
    await must(["ip", "-n", netns, "link", "set", "eth0", "up"]);
    await must(["ip", "-n", netns, "link", "set", "lo", "up"]);

    nspawn = Bun.spawn(
      ["systemd-nspawn", "-D", root, "-b", "--register=no", "--keep-unit", `--network-namespace-path=/run/netns/${netns}`, "--console=passive",
        // root inside may manage its own network namespace, as root on a real host can (taskstats needs it too)
        "--capability=CAP_NET_ADMIN", `--machine=${name}`],
      { stdin: "ignore", stdout: Bun.file(join(dir, "nspawn.log")), stderr: Bun.file(join(dir, "nspawn.err")) },
    );
    nspawn.unref();
    const nspawnPid = nspawn.pid;
    initPid = await waitFor(`systemd-nspawn of ${name} to start systemd`, () => {
      if (nspawn!.exitCode !== null) throw new Error(`systemd-nspawn exited ${nspawn!.exitCode}: ${readFileSync(join(dir, "nspawn.err"), "utf8").slice(-2000)}`);
      return findInit(nspawnPid);
    }, 30_000, 100);
    writeFileSync(join(dir, "init.pid"), `${initPid}\n`);
    // systemctl needs systemd's private socket, which exists only once systemd is up far enough.
    await waitFor(`systemd's socket in ${name}`, () => existsSync(`/proc/${initPid}/root/run/systemd/private`), 30_000, 100);
    const state = await runIn(initPid, ["systemctl", "is-system-running", "--wait"], { timeoutMs: 90_000 });
    const s = state.stdout.trim();
    if (s !== "running" && s !== "degraded") throw new Error(`${name}: systemd did not come up (${s || state.stderr.trim()})`);
    if (s === "degraded") {
      const failed = await runIn(initPid, ["systemctl", "--failed", "--no-legend", "--plain"], {});
      const log = await runIn(initPid, ["journalctl", "--no-pager", "-b", "-n", "60"], {});
      throw new Error(`${name}: boot degraded, failed units: ${failed.stdout.trim()}\n${log.stdout}`);
    }
  } catch (e) {
    await host.down();
    throw e;
  }
  return host;
}

/**
 * Hosts of test processes that were killed hard (no afterAll ran) are removed here: their systemd is
 * killed, their namespace and root copy deleted. Hosts of running test processes are left alone.
 */
function sweepStaleHosts(): void {
  for (const entry of readdirSync(tmpdir())) {
    const m = /^pmon-sdhost-([a-z0-9]+)-/.exec(entry);
    if (!m) continue;
    const dir = join(tmpdir(), entry);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, "owner.pid"), "utf8"));
    } catch {
      continue; // being created right now, or not ours
    }
    if (!owner || isAlive(owner)) continue;
    try {
      const pid = Number(readFileSync(join(dir, "init.pid"), "utf8"));
      // only our own container's systemd (its parent is the systemd-nspawn of this dir), never a reused pid
      const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      if (pid && ppid && readFileSync(`/proc/${ppid}/cmdline`, "utf8").includes(dir)) process.kill(pid, "SIGKILL");
    } catch {}
    Bun.spawnSync(["ip", "netns", "del", `pmon-sd-${m[1]}`]);
    Bun.spawnSync(["ip", "link", "del", `pmsd-${m[1]}`]);
    Bun.spawnSync(["rm", "-rf", "--one-file-system", dir]);
  }
}

/**
 * argv run in all of the container's namespaces AND in its root directory. Entering the mount namespace
 * alone puts nsenter at that namespace's root mount; systemd-nspawn moves the container's root over "/" as
 * its own root sees it, and when nspawn itself runs chrooted (a container, a build root) that is not the
 * namespace's root: without -r the command would see the outer machine's files (its /run/systemd: "offline").
 */
function nsenterArgv(initPid: number, argv: string[]): string[] {
  return ["nsenter", "-t", String(initPid), "-a", "-r", "-w", "--", ...argv];
}

function runIn(initPid: number, argv: string[], o: { timeoutMs?: number; stdin?: string }): Promise<RunResult> {
  if (!initPid) throw new Error("systemd-host: the host is not running");
  if (o.stdin === undefined) return run(nsenterArgv(initPid, argv), { timeoutMs: o.timeoutMs });
  return runWithStdin(nsenterArgv(initPid, argv), o.stdin, o.timeoutMs);
}

async function runWithStdin(argv: string[], stdin: string, timeoutMs = 120_000): Promise<RunResult> {
  const p = Bun.spawn(argv, { stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}
