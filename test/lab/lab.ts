// A throwaway fleet for tests: sshd "hosts" in network namespaces (recipe: shared/notes/feasibility.md §4).
// Every lab gets unique namespace names (pmon-lab-<id>-ctl, pmon-lab-<id>-hN), so several test runs can
// coexist. The control namespace holds a bridge with 10.200.0.1; host N has 10.200.0.(10+N). Each host
// also has its own PID/UTS/mount namespace: its own hostname, /proc, /opt and /root. The root namespace
// gets no address, so the pmon server and `pmon enroll` run inside the control namespace (`lab.ctl(...)`).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive } from "../helpers/pid.ts";

export interface LabHost {
  name: string; // h1, h2, ...
  netns: string;
  addr: string;
  /** the host's private files on this machine: <dir>/opt is its /opt, <dir>/root its /root */
  dir: string;
}

export interface Lab {
  id: string;
  dir: string;
  ctlNetns: string;
  ctlAddr: string;
  hosts: LabHost[];
  /** private key accepted by every host (root) */
  identity: string;
  /** a second key no host accepts, for "authentication refused" tests */
  wrongIdentity: string;
  knownHosts: string;
  /** argv prefix that runs a command inside the control namespace */
  ctlPrefix: string[];
  /** runs argv inside the control namespace and waits */
  ctl(argv: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult>;
  /** runs a shell command on a host over ssh (as root) */
  ssh(host: LabHost, command: string): Promise<RunResult>;
  /** pids of the processes visible inside a host's PID namespace, with their command lines */
  processes(host: LabHost): Promise<{ pid: number; cmdline: string }[]>;
  down(): Promise<void>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const SSHD_CONFIG = (addr: string, dir: string) => `ListenAddress ${addr}
Port 22
HostKey ${dir}/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
Subsystem sftp internal-sftp
`;

// Runs as the host's PID 1 (bash, which also reaps orphans): private hostname, /opt, /root, /run and
// /var/spool (crontabs), then
// sshd in the foreground. $3 = a size in MiB makes /opt a tmpfs that small (for "no space" tests).
const HOST_INIT = `hostname "$1"; if [ -n "$3" ]; then mount -t tmpfs -o size="$3"m tmpfs /opt; else mount --bind "$2/opt" /opt; fi;
mount --bind "$2/root" /root; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /var/spool;
mkdir -m 755 /run/sshd; /usr/sbin/sshd -D -f "$2/sshd_config" -E "$2/sshd.log" & wait`;

export async function run(argv: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  const p = Bun.spawn(argv, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs ?? 120_000,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

async function must(argv: string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`lab: ${argv.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export interface LabOptions {
  /** host numbers (1-based) whose /opt is a tmpfs of `tinyOptMb` MiB instead of a directory */
  tinyOpt?: number[];
  tinyOptMb?: number;
}

/** Brings up `count` sshd hosts. Call `down()` in afterAll; it also runs at process exit as a safety net. */
export async function createLab(count: number, opts: LabOptions = {}): Promise<Lab> {
  await sweepStaleLabs();
  const id = Math.random().toString(36).slice(2, 8);
  const dir = mkdtempSync(join(tmpdir(), `pmon-lab-${id}-`));
  writeFileSync(join(dir, "owner.pid"), `${process.pid}\n`);
  const ctlNetns = `pmon-lab-${id}-ctl`;
  const hosts: LabHost[] = [];
  const hostPids: number[] = [];
  const identity = join(dir, "id_ed25519");
  const wrongIdentity = join(dir, "id_wrong");
  const knownHosts = join(dir, "known_hosts");
  let isDown = false;

  const down = async () => {
    if (isDown) return;
    isDown = true;
    // Killing a host's PID-namespace init kills everything in that host (sshd, agents, supervisors).
    for (const pid of hostPids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    for (const ns of [...hosts.map((h) => h.netns), ctlNetns]) await run(["ip", "netns", "del", ns]);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", () => {
    if (isDown) return;
    for (const pid of hostPids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    for (const h of hosts) Bun.spawnSync(["ip", "netns", "del", h.netns]);
    Bun.spawnSync(["ip", "netns", "del", ctlNetns]);
    rmSync(dir, { recursive: true, force: true });
  });

  try {
    await must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pmon-lab", "-f", identity]);
    await must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pmon-lab-wrong", "-f", wrongIdentity]);
    writeFileSync(knownHosts, "");
    await must(["ip", "netns", "add", ctlNetns]);
    await must(["ip", "-n", ctlNetns, "link", "set", "lo", "up"]);
    await must(["ip", "-n", ctlNetns, "link", "add", "br0", "type", "bridge"]);
    await must(["ip", "-n", ctlNetns, "link", "set", "br0", "up"]);
    await must(["ip", "-n", ctlNetns, "addr", "add", "10.200.0.1/24", "dev", "br0"]);
    for (let i = 1; i <= count; i++) {
      const name = `h${i}`;
      const h: LabHost = { name, netns: `pmon-lab-${id}-${name}`, addr: `10.200.0.${10 + i}`, dir: join(dir, name) };
      hosts.push(h);
      await must(["ip", "netns", "add", h.netns]);
      await must(["ip", "link", "add", `veth-${name}`, "netns", ctlNetns, "type", "veth", "peer", "name", "eth0", "netns", h.netns]);
      await must(["ip", "-n", ctlNetns, "link", "set", `veth-${name}`, "master", "br0", "up"]);
      await must(["ip", "-n", h.netns, "addr", "add", `${h.addr}/24`, "dev", "eth0"]);
      await must(["ip", "-n", h.netns, "link", "set", "eth0", "up"]);
      await must(["ip", "-n", h.netns, "link", "set", "lo", "up"]);
      mkdirSync(join(h.dir, "opt"), { recursive: true });
      mkdirSync(join(h.dir, "root", ".ssh"), { recursive: true });
      chmodSync(join(h.dir, "root"), 0o700);
      chmodSync(join(h.dir, "root", ".ssh"), 0o700);
      writeFileSync(join(h.dir, "root", ".ssh", "authorized_keys"), readFileSync(identity + ".pub"), { mode: 0o600 });
      await must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(h.dir, "ssh_host_ed25519_key")]);
      writeFileSync(join(h.dir, "sshd_config"), SSHD_CONFIG(h.addr, h.dir));
      const p = Bun.spawn(
        ["ip", "netns", "exec", h.netns, "unshare", "--mount", "--pid", "--uts", "--fork", "--kill-child", "--mount-proc", "--propagation", "private",
          "bash", "-c", HOST_INIT, "host-init", name, h.dir, opts.tinyOpt?.includes(i) ? String(opts.tinyOptMb ?? 16) : ""],
        { stdin: "ignore", stdout: Bun.file(join(h.dir, "start.log")), stderr: Bun.file(join(h.dir, "start.err")) },
      );
      p.unref();
      hostPids.push(p.pid);
      writeFileSync(join(dir, "hosts.pid"), hostPids.join("\n") + "\n");
    }
    for (const h of hosts) await waitForPort(ctlNetns, h.addr, 22);
  } catch (e) {
    await down();
    throw e;
  }

  const ctlPrefix = ["ip", "netns", "exec", ctlNetns];
  const lab: Lab = {
    id,
    dir,
    ctlNetns,
    ctlAddr: "10.200.0.1",
    hosts,
    identity,
    wrongIdentity,
    knownHosts,
    ctlPrefix,
    ctl: (argv, opts) => run([...ctlPrefix, ...argv], opts),
    ssh: (h, command) =>
      run([...ctlPrefix, "ssh", "-i", identity, "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=5", `root@${h.addr}`, command]),
    async processes(h) {
      const r = await lab.ssh(h, `for p in /proc/[0-9]*; do echo "\${p#/proc/} $(tr '\\000\\n' '  ' < $p/cmdline 2>/dev/null)"; done`);
      return r.stdout.split("\n").filter(Boolean).map((l) => {
        const sp = l.indexOf(" ");
        return { pid: Number(l.slice(0, sp)), cmdline: l.slice(sp + 1).trim() };
      });
    },
    down,
  };
  return lab;
}

/**
 * A test process killed hard (timeout, SIGKILL) cannot run down(): its lab stays. Labs whose owner
 * process is gone are removed here; labs of running test processes are left alone.
 */
async function sweepStaleLabs(): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    const m = /^pmon-lab-([a-z0-9]+)-/.exec(name);
    if (!m) continue;
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, "owner.pid"), "utf8"));
    } catch {
      continue; // being created right now, or not ours
    }
    if (!owner || isAlive(owner)) continue;
    let pids: number[] = [];
    try {
      pids = readFileSync(join(dir, "hosts.pid"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {}
    for (const pid of pids) {
      try {
        // only our own host inits (unshare ... host-init), never a reused pid of something else
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) process.kill(pid, "SIGKILL");
      } catch {}
    }
    const list = await run(["ip", "netns", "list"]);
    for (const line of list.stdout.split("\n")) {
      const ns = line.split(" ")[0] ?? "";
      if (ns.startsWith(`pmon-lab-${m[1]}-`)) await run(["ip", "netns", "del", ns]);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForPort(netns: string, addr: string, port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await run(["ip", "netns", "exec", netns, "bash", "-c", 'exec 3<>"/dev/tcp/$0/$1"', addr, String(port)]);
    if (r.code === 0) return;
    await Bun.sleep(50);
  }
  throw new Error(`lab: nothing listens on ${addr}:${port} in ${netns}`);
}

/** Polls `fn` until it returns a truthy value or the deadline passes (then throws with `what`). */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 60_000, everyMs = 250): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await Bun.sleep(everyMs);
  }
}
