// The sandboxed systemd units on a real systemd host (Debian, systemd as PID 1 under systemd-nspawn):
// the server runs as the pmon user and still stores reports and answers /healthz; the agent keeps the
// root rights it needs to read every process (io, fd, sock_diag) inside its sandbox.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderAgentUnit } from "../../../src/deploy/units.ts";
import { requireBinary, ROOT } from "../../helpers/binary.ts";
import { waitFor } from "../../lab/lab.ts";
import { bootSystemdHost, type SystemdHost } from "../../lab/systemd-host.ts";

const INSTALL_DIR = "/opt/pmon";
const serverUnit = readFileSync(join(ROOT, "init/pmon-server.service"), "utf8");

let host: SystemdHost;

// The server deploys agents to this same host over ssh (root@<its hostname>), with its own binary.
const SERVER_CONFIG = `[server]
listen = "0.0.0.0:9300"
url = "http://127.0.0.1:9300"
manager_interval_s = 2

[agent]
interval_s = 2
jitter_s = 0

[deploy]
install_dir = "${INSTALL_DIR}"
use_systemd = "yes"
`;

/** The rendered agent unit turned into a one-shot `agent --once --json` with the same sandbox. */
function onceUnit(unit: string, out: string, capabilities?: string): string {
  let u = unit
    .replace(/^ExecStart=.*$/m, `ExecStart=${INSTALL_DIR}/pmon agent --once --json --config ${INSTALL_DIR}/pmon.toml`)
    .replace(/^Type=simple$/m, "Type=oneshot")
    .replace(/^Restart=always$/m, "Restart=no")
    .replace("[Service]", `[Service]\nStandardOutput=truncate:${out}\nStandardError=journal`);
  if (capabilities !== undefined) u = u.replace(/^CapabilityBoundingSet=.*$/m, `CapabilityBoundingSet=${capabilities}`);
  return u;
}

async function mainPid(unit: string): Promise<number> {
  return Number((await host.must(["systemctl", "show", "-P", "MainPID", unit])).trim());
}

/** `systemd-analyze security` exposure score (0 = locked down, 10 = unprotected). */
async function exposure(unit: string): Promise<number> {
  const out = await host.must(["systemd-analyze", "security", "--no-pager", unit]);
  const m = /Overall exposure level for \S+: ([\d.]+)/.exec(out);
  if (!m) throw new Error(`no exposure level in: ${out.slice(-500)}`);
  return Number(m[1]);
}

beforeAll(async () => {
  const bin = requireBinary();
  host = await bootSystemdHost({
    prepare(root) {
      copyFileSync(bin, join(root, "usr/local/bin/pmon"));
      mkdirSync(join(root, "etc/pmon"), { recursive: true });
      writeFileSync(join(root, "etc/pmon/pmon.toml"), SERVER_CONFIG);
      writeFileSync(join(root, "etc/systemd/system/pmon-server.service"), serverUnit);
    },
  });
  // As docs/install.md says: a system user whose home is the data dir; its ~/.ssh holds the deploy key,
  // which root on the hosts (here: this same host) accepts.
  await host.must(["useradd", "--system", "--user-group", "--home-dir", "/var/lib/pmon", "--shell", "/usr/sbin/nologin", "pmon"]);
  await host.must(["install", "-d", "-o", "pmon", "-g", "pmon", "-m", "0700", "/var/lib/pmon", "/var/lib/pmon/.ssh"]);
  await host.must(["chown", "root:pmon", "/etc/pmon/pmon.toml"]);
  await host.must(["chmod", "0640", "/etc/pmon/pmon.toml"]);
  await host.must(["runuser", "-u", "pmon", "--", "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/var/lib/pmon/.ssh/id_ed25519"]);
  await host.must(["install", "-d", "-m", "0700", "/root/.ssh"]);
  await host.must(["install", "-m", "0600", "/var/lib/pmon/.ssh/id_ed25519.pub", "/root/.ssh/authorized_keys"]);
  await host.must(["systemctl", "daemon-reload"]);
}, 600_000);

afterAll(async () => {
  await host?.down();
}, 60_000);

describe("hardened units on a systemd host", () => {
  test("the server runs as pmon, sandboxed, and answers /healthz", async () => {
    await host.must(["systemctl", "enable", "--now", "pmon-server.service"]);
    const healthz = await waitFor("the server's /healthz", async () => {
      const r = await fetch(`http://${host.addr}:9300/healthz`);
      return r.ok ? r : undefined;
    }, 30_000);
    expect(healthz.status).toBe(200);
    const pid = await mainPid("pmon-server.service");
    expect(pid).toBeGreaterThan(0);
    const status = await host.must(["cat", `/proc/${pid}/status`]);
    expect(/^NoNewPrivs:\s+1$/m.test(status)).toBe(true);
    expect(/^CapEff:\s+0+$/m.test(status)).toBe(true);
    expect((await host.must(["stat", "-c", "%U", `/proc/${pid}`])).trim()).toBe("pmon");
    // the store it created belongs to pmon
    expect((await host.must(["stat", "-c", "%U %a", "/var/lib/pmon/pmon.db"])).trim()).toMatch(/^pmon [0-7]+$/);
    // the sandbox is real: the server sees / read-only and only its data dir writable
    const mounts = await host.must(["cat", `/proc/${pid}/mountinfo`]);
    expect(mounts).toMatch(/ \/ ro,/);
    expect(mounts).toMatch(/ \/var\/lib\/pmon rw,/);
  }, 60_000);

  test("the sandboxed server deploys the agent over ssh; the agent runs in its sandbox and its reports are stored", async () => {
    // a host row with istate 1, as the old system's operators add hosts: the server's manager deploys it
    const db = new Database(join(host.root, "var/lib/pmon/pmon.db"));
    try {
      db.query("INSERT INTO tb_monitor_host_config (rshost, istate) VALUES (?, 1)").run(host.name);
    } finally {
      db.close();
    }
    await waitFor("the agent unit deployed and running", async () => {
      if ((await host.exec(["systemctl", "is-active", "pmon-agent.service"])).stdout.trim() === "active") return true;
      const ro = new Database(join(host.root, "var/lib/pmon/pmon.db"), { readonly: true });
      try {
        const row = ro.query("SELECT istate, deploy_error FROM tb_monitor_host_config WHERE rshost = ?").get(host.name) as { istate: number; deploy_error: string };
        if (row.deploy_error) throw new Error(`istate ${row.istate}: ${row.deploy_error}`); // shown if it never recovers
      } finally {
        ro.close();
      }
      return false;
    }, 90_000, 500);
    expect(readFileSync(join(host.root, "etc/systemd/system/pmon-agent.service"), "utf8")).toBe(renderAgentUnit(INSTALL_DIR));

    const serverPid = await mainPid("pmon-server.service");
    const sshdPid = await mainPid("ssh.service");
    const store = new Database(join(host.root, "var/lib/pmon/pmon.db"), { readonly: true });
    try {
      // A listening port owned by the pmon user's server is attributed to its pid: the agent read another
      // user's /proc/PID/fd (CAP_SYS_PTRACE) and the socket table over sock_diag (AF_NETLINK).
      const rows = await waitFor("a stored report that attributes ports 9300 and 22", () => {
        const r = store.query("SELECT port, pid FROM tb_monitor_listen_port_info WHERE rshost = ? AND port IN (22, 9300) AND pid IS NOT NULL").all(host.name) as { port: number; pid: number }[];
        return r.some((x) => x.port === 9300) && r.some((x) => x.port === 22) ? r : undefined;
      }, 60_000);
      expect(rows.find((r) => r.port === 9300)?.pid).toBe(serverPid);
      expect(rows.find((r) => r.port === 22)?.pid).toBe(sshdPid);
      const info = store.query("SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE rshost = ?").get(host.name) as { n: number };
      expect(info.n).toBeGreaterThan(0);
    } finally {
      store.close();
    }
    const agentPid = await mainPid("pmon-agent.service");
    const status = await host.must(["cat", `/proc/${agentPid}/status`]);
    expect(/^NoNewPrivs:\s+1$/m.test(status)).toBe(true);
    expect((await host.must(["stat", "-c", "%U", `/proc/${agentPid}`])).trim()).toBe("root");
    const mounts = await host.must(["cat", `/proc/${agentPid}/mountinfo`]);
    expect(mounts).toMatch(/ \/ ro,/);
    expect(mounts).toMatch(/ \/opt\/pmon rw,/);
    // the sandbox lets the agent exec itself without the JIT's DFG tier (src/util/exec-self.ts)
    expect((await host.must(["cat", `/proc/${agentPid}/environ`])).split("\0")).toContain("BUN_JSC_useDFGJIT=0");
    // nothing either of them tried was refused by the sandbox
    const journal = await host.must(["journalctl", "--no-pager", "-o", "cat", "-u", "pmon-server.service", "-u", "pmon-agent.service"]);
    expect(journal).not.toMatch(/EPERM|EACCES|EROFS|not permitted|Permission denied|Read-only file system/i);
  }, 120_000);

  test("inside the agent's sandbox every process's io and fd can be read; without its capabilities they cannot", async () => {
    const unit = renderAgentUnit(INSTALL_DIR);
    writeFileSync(join(host.root, "etc/systemd/system/pmon-agent-once.service"), onceUnit(unit, "/root/once.json"));
    writeFileSync(join(host.root, "etc/systemd/system/pmon-agent-nocaps.service"), onceUnit(unit, "/root/nocaps.json", "CAP_DAC_OVERRIDE"));
    await host.must(["systemctl", "daemon-reload"]);
    await host.must(["systemctl", "start", "pmon-agent-once.service"], { timeoutMs: 60_000 });
    await host.must(["systemctl", "start", "pmon-agent-nocaps.service"], { timeoutMs: 60_000 });
    const once = JSON.parse(readFileSync(join(host.root, "root/once.json"), "utf8"));
    const nocaps = JSON.parse(readFileSync(join(host.root, "root/nocaps.json"), "utf8"));
    const denied = (r: { collector_errors: Record<string, number> }) => Object.keys(r.collector_errors).filter((k) => k.endsWith("_denied"));
    expect(denied(once)).toEqual([]);
    // the sandbox changes nothing the agent reports about filesystems (mount namespace, read-only /home, private /dev)
    const plain = JSON.parse(await host.must([`${INSTALL_DIR}/pmon`, "agent", "--once", "--json", "--config", `${INSTALL_DIR}/pmon.toml`], { timeoutMs: 60_000 }));
    const filesystems = (r: { system: { filesystems: { mount: string; device: string; fstype: string; total_bytes: number }[] } }) =>
      r.system.filesystems.map((f) => `${f.mount} ${f.device} ${f.fstype} ${f.total_bytes}`).sort();
    expect(filesystems(once)).toEqual(filesystems(plain));
    expect(filesystems(once).length).toBeGreaterThan(0);
    expect(once.listen_ports.find((p: { port: number }) => p.port === 9300)?.pid).toBe(await mainPid("pmon-server.service"));
    // the control: the same sandbox without CAP_SYS_PTRACE cannot read the pmon user's server
    expect(denied(nocaps).length).toBeGreaterThan(0);
  }, 120_000);

  test("systemd-analyze security scores both units", async () => {
    const server = await exposure("pmon-server.service");
    const agent = await exposure("pmon-agent.service");
    console.log(`systemd-analyze security: pmon-server.service ${server}, pmon-agent.service ${agent}`);
    // regression guards: the server is locked down, the root agent far better than the 9.6 of a bare unit
    expect(server).toBeLessThan(2);
    expect(agent).toBeLessThan(3.5);
  }, 60_000);
});
