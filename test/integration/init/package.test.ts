// `make package` output on a real systemd host (Debian under systemd-nspawn): install, enable, upgrade with a
// changed config, remove, purge. The .rpm is checked for its contents and its scripts are run by Debian's rpm
// on such a host (no RPM-based distribution here: --nodeps, since Debian's rpm database lists no packages).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { requireBinary, ROOT } from "../../helpers/binary.ts";
import { run, waitFor } from "../../lab/lab.ts";
import { bootSystemdHost, type SystemdHost } from "../../lab/systemd-host.ts";

const V1 = "0.1.0";
const V2 = "0.1.0+1";
let host: SystemdHost;
let outDir: string;
let deb1: string;
let deb2: string;
let rpmFile: string;
let rpm2: string;
let binSha: string;

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

async function buildPackages(version: string, formats: string): Promise<string[]> {
  const r = await run(["bash", join(ROOT, "scripts/package.sh"), requireBinary(), version, outDir, formats], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`package.sh failed: ${r.stderr}`);
  return r.stdout.trim().split("\n");
}

const healthz = (port: number) => healthzOf(host, port);

const mainPid = async () => Number((await host.must(["systemctl", "show", "-P", "MainPID", "pmon-server.service"])).trim());
const stat = async (path: string) => (await host.must(["stat", "-c", "%U %G %a", path])).trim();

/**
 * `pid` runs the packaged /usr/bin/pmon: the very same file (device and inode). The path the kernel shows for
 * /proc/PID/exe of a sandboxed service (its own mount namespace) is built up to the outermost root, so when
 * the host itself was booted from a chroot it carries that directory in front of /usr/bin/pmon.
 */
async function expectPackagedBinary(pid: number): Promise<void> {
  expect(pid).toBeGreaterThan(0);
  const [exe, packaged] = (await host.must(["stat", "-L", "-c", "%d:%i", `/proc/${pid}/exe`, "/usr/bin/pmon"])).trim().split("\n");
  expect(exe).toBe(packaged!);
  expect((await host.must(["readlink", `/proc/${pid}/exe`])).trim()).toEndWith("/usr/bin/pmon");
}

beforeAll(async () => {
  binSha = sha256(requireBinary());
  outDir = mkdtempSync(join(tmpdir(), "pmon-package-"));
  [deb1, rpmFile] = (await buildPackages(V1, "deb rpm")) as [string, string];
  [deb2, rpm2] = (await buildPackages(V2, "deb rpm")) as [string, string];
  host = await bootSystemdHost({
    prepare(root) {
      for (const f of [deb1, deb2]) copyFileSync(f, join(root, "root", basename(f)));
    },
  });
}, 600_000);

afterAll(async () => {
  await host?.down();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
}, 60_000);

const healthzOf = async (h: SystemdHost, port: number) => {
  try {
    return (await fetch(`http://${h.addr}:${port}/healthz`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
};

describe("the .deb on a systemd host", () => {
  test("install, then `systemctl enable --now pmon-server` gives a server answering /healthz as the pmon user", async () => {
    await host.must(["apt-get", "install", "-y", "-q", `/root/${basename(deb1)}`], { timeoutMs: 120_000 });
    expect(sha256(join(host.root, "usr/bin/pmon"))).toBe(binSha);
    expect((await host.must(["getent", "passwd", "pmon"])).trim()).toMatch(/^pmon:x:\d+:\d+:pmon server:\/var\/lib\/pmon:\/usr\/sbin\/nologin$/);
    expect(await stat("/var/lib/pmon")).toBe("pmon pmon 700");
    expect(await stat("/etc/pmon/pmon.toml")).toBe("root pmon 640");
    expect(readFileSync(join(host.root, "var/lib/dpkg/info/pmon.conffiles"), "utf8").trim()).toBe("/etc/pmon/pmon.toml");
    expect(await healthz(9300)).toBe(false); // installed, not started: the operator enables it

    await host.must(["systemctl", "enable", "--now", "pmon-server.service"]);
    await waitFor("/healthz of the packaged server", () => healthz(9300), 30_000);
    const pid = await mainPid();
    expect((await host.must(["stat", "-c", "%U", `/proc/${pid}`])).trim()).toBe("pmon");
    await expectPackagedBinary(pid);
    await waitFor("the server's store in /var/lib/pmon", () => existsSync(join(host.root, "var/lib/pmon/pmon.db")), 10_000);
  }, 180_000);

  test("the packaged agent unit runs with the packaged config and its reports reach the packaged server", async () => {
    // the server's user registers the host and writes the secret where the default config looks for it
    await host.must(["runuser", "-u", "pmon", "--", "pmon", "enroll", host.name, "--no-deploy", "--secret-out", "/var/lib/pmon/agent.secret"]);
    await host.must(["systemctl", "enable", "--now", "pmon-agent.service"]);
    const db = join(host.root, "var/lib/pmon/pmon.db");
    await waitFor("a report of the packaged agent in the packaged server's store", () => {
      const store = new Database(db, { readonly: true });
      try {
        const row = store.query("SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE rshost = ?").get(host.name) as { n: number };
        return row.n > 0;
      } finally {
        store.close();
      }
    }, 90_000); // the packaged config's interval: 30 s plus up to 5 s of jitter
    const pid = Number((await host.must(["systemctl", "show", "-P", "MainPID", "pmon-agent.service"])).trim());
    await expectPackagedBinary(pid);
  }, 150_000);

  test("the packaged units are the init/ units with packaged paths, sandbox included", () => {
    const body = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#"));
    const server = readFileSync(join(host.root, "lib/systemd/system/pmon-server.service"), "utf8");
    const agent = readFileSync(join(host.root, "lib/systemd/system/pmon-agent.service"), "utf8");
    expect(body(server)).toEqual(body(readFileSync(join(ROOT, "init/pmon-server.service"), "utf8").replaceAll("/usr/local/bin/pmon", "/usr/bin/pmon")));
    const agentTemplate = readFileSync(join(ROOT, "init/pmon-agent.service"), "utf8")
      .replace("@INSTALL_DIR@/pmon agent --config @INSTALL_DIR@/pmon.toml", "/usr/bin/pmon agent --config /etc/pmon/pmon.toml")
      .replace("EnvironmentFile=-@INSTALL_DIR@/agent.env", "EnvironmentFile=-/etc/default/pmon-agent")
      .replaceAll("@INSTALL_DIR@", "/var/lib/pmon");
    expect(body(agent)).toEqual(body(agentTemplate));
    expect(agent).toContain("ProtectSystem=strict");
  });

  test("an upgrade restarts the server and keeps the operator's changed pmon.toml", async () => {
    const conf = join(host.root, "etc/pmon/pmon.toml");
    const changed = readFileSync(conf, "utf8").replace('listen = "0.0.0.0:9300"', 'listen = "0.0.0.0:9301"');
    expect(changed).toContain('listen = "0.0.0.0:9301"');
    await host.must(["sh", "-c", 'cat > /etc/pmon/pmon.toml'], { stdin: changed });
    const before = await mainPid();
    expect(await healthz(9300)).toBe(true); // the change is not live before the upgrade

    await host.must(["apt-get", "install", "-y", "-q", `/root/${basename(deb2)}`], { timeoutMs: 120_000 });
    expect((await host.must(["dpkg-query", "-W", "-f", "${Version}", "pmon"])).trim()).toBe(V2);
    expect(readFileSync(conf, "utf8")).toBe(changed);
    expect(await stat("/etc/pmon/pmon.toml")).toBe("root pmon 640");
    // restarted: a new process, listening where the kept config says
    await waitFor("/healthz on the changed port after the upgrade", () => healthz(9301), 30_000);
    expect(await mainPid()).not.toBe(before);
    expect(await healthz(9300)).toBe(false);
  }, 180_000);

  test("apt remove stops server and agent and keeps data and config; purge deletes them", async () => {
    await host.must(["apt-get", "remove", "-y", "-q", "pmon"], { timeoutMs: 120_000 });
    expect(existsSync(join(host.root, "usr/bin/pmon"))).toBe(false);
    expect(existsSync(join(host.root, "lib/systemd/system/pmon-server.service"))).toBe(false);
    expect(await healthz(9301)).toBe(false);
    expect(existsSync(join(host.root, "var/lib/pmon/pmon.db"))).toBe(true);
    expect(existsSync(join(host.root, "etc/pmon/pmon.toml"))).toBe(true);
    expect((await host.exec(["systemctl", "is-enabled", "pmon-server.service"])).code).not.toBe(0);
    expect((await host.exec(["systemctl", "is-active", "pmon-agent.service"])).code).not.toBe(0);

    await host.must(["apt-get", "purge", "-y", "-q", "pmon"], { timeoutMs: 120_000 });
    expect(existsSync(join(host.root, "var/lib/pmon"))).toBe(false);
    expect(existsSync(join(host.root, "etc/pmon"))).toBe(false);
    expect((await host.exec(["dpkg-statoverride", "--list", "/etc/pmon/pmon.toml"])).code).not.toBe(0);
    expect((await host.exec(["dpkg-query", "-W", "pmon"])).code).not.toBe(0);
  }, 180_000);
});

describe("the .rpm", () => {
  test("holds the binary intact, both units, the config as noreplace and the data dir 0700 pmon; makes the user first", async () => {
    const list = await run(["rpm", "-qplv", rpmFile]);
    expect(list.code).toBe(0);
    const entries = list.stdout.trim().split("\n").map((l) => {
      const f = l.split(/\s+/);
      return `${f[0]} ${f[2]} ${f[3]} ${f[f.length - 1]}`;
    });
    expect(entries.sort()).toEqual([
      "-rw-r----- root pmon /etc/pmon/pmon.toml",
      "-rw-r--r-- root root /usr/lib/systemd/system/pmon-agent.service",
      "-rw-r--r-- root root /usr/lib/systemd/system/pmon-server.service",
      "-rwxr-xr-x root root /usr/bin/pmon",
      "drwx------ pmon pmon /var/lib/pmon",
      "drwxr-xr-x root root /etc/pmon",
    ]);
    expect((await run(["rpm", "-qp", "--configfiles", rpmFile])).stdout.trim()).toBe("/etc/pmon/pmon.toml");
    const noreplace = await run(["rpm", "-qp", "--queryformat", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", rpmFile]);
    expect(noreplace.stdout).toMatch(/^\/etc\/pmon\/pmon\.toml cn$/m);
    const scripts = (await run(["rpm", "-qp", "--scripts", rpmFile])).stdout;
    expect(scripts).toMatch(/preinstall scriptlet[\s\S]*useradd --system --gid pmon --home-dir \/var\/lib\/pmon/);
    // not stripped: the Bun program appended to the ELF is still there
    const x = mkdtempSync(join(tmpdir(), "pmon-rpm-"));
    try {
      const r = await run(["bash", "-c", 'cd "$1" && rpm2cpio "$2" | cpio -idm --quiet ./usr/bin/pmon ./usr/lib/systemd/system/pmon-server.service', "x", x, rpmFile]);
      expect(r.code).toBe(0);
      expect(sha256(join(x, "usr/bin/pmon"))).toBe(binSha);
      expect(readFileSync(join(x, "usr/lib/systemd/system/pmon-server.service"), "utf8")).toContain("ExecStart=/usr/bin/pmon server --config /etc/pmon/pmon.toml");
    } finally {
      rmSync(x, { recursive: true, force: true });
    }
  }, 60_000);

  describe("installed by Debian's rpm on a systemd host", () => {
    let rh: SystemdHost;
    const rpm = (...args: string[]) => rh.must(["rpm", "--force-debian", "--nodeps", ...args], { timeoutMs: 120_000 });
    const rpmStat = async (path: string) => (await rh.must(["stat", "-c", "%U %G %a", path])).trim();
    const rpmMainPid = async () => Number((await rh.must(["systemctl", "show", "-P", "MainPID", "pmon-server.service"])).trim());

    beforeAll(async () => {
      await host?.down(); // the .deb host is done
      rh = await bootSystemdHost({
        extraPackages: ["rpm"],
        prepare(root) {
          for (const f of [rpmFile, rpm2]) copyFileSync(f, join(root, "root", basename(f)));
        },
      });
    }, 600_000);
    afterAll(async () => {
      await rh?.down();
    }, 60_000);

    test("%pre makes the user before the files land; the server runs; -U restarts it and keeps the config; -e keeps the data", async () => {
      await rpm("-i", `/root/${basename(rpmFile)}`);
      expect((await rh.must(["getent", "passwd", "pmon"])).trim()).toMatch(/^pmon:x:\d+:\d+:pmon server:\/var\/lib\/pmon:\/sbin\/nologin$/);
      expect(await rpmStat("/var/lib/pmon")).toBe("pmon pmon 700");
      expect(await rpmStat("/etc/pmon/pmon.toml")).toBe("root pmon 640");
      expect(sha256(join(rh.root, "usr/bin/pmon"))).toBe(binSha);
      await rh.must(["systemctl", "enable", "--now", "pmon-server.service"]);
      await waitFor("/healthz of the server from the .rpm", () => healthzOf(rh, 9300), 30_000);
      expect((await rh.must(["stat", "-c", "%U", `/proc/${await rpmMainPid()}`])).trim()).toBe("pmon");

      const conf = join(rh.root, "etc/pmon/pmon.toml");
      const changed = readFileSync(conf, "utf8").replace('listen = "0.0.0.0:9300"', 'listen = "0.0.0.0:9301"');
      await rh.must(["sh", "-c", "cat > /etc/pmon/pmon.toml"], { stdin: changed });
      const before = await rpmMainPid();
      await rpm("-U", `/root/${basename(rpm2)}`);
      expect((await rh.must(["rpm", "-q", "--qf", "%{VERSION}", "pmon"])).trim()).toBe(V2);
      expect(readFileSync(conf, "utf8")).toBe(changed);
      await waitFor("/healthz on the changed port after rpm -U", () => healthzOf(rh, 9301), 30_000);
      expect(await rpmMainPid()).not.toBe(before);

      await rpm("-e", "pmon");
      expect(existsSync(join(rh.root, "usr/bin/pmon"))).toBe(false);
      expect(await healthzOf(rh, 9301)).toBe(false);
      expect((await rh.exec(["systemctl", "is-enabled", "pmon-server.service"])).code).not.toBe(0);
      expect(existsSync(join(rh.root, "var/lib/pmon/pmon.db"))).toBe(true);
      // a changed config is saved, not lost
      expect(readFileSync(join(rh.root, "etc/pmon/pmon.toml.rpmsave"), "utf8")).toBe(changed);
    }, 300_000);
  });
});
