// Enroll failures an operator must be able to act on, against sshd hosts in network namespaces:
//  - an agent that cannot report: the failure shows the last lines of its log on the host;
//  - agents that would report to a loopback address: refused before any ssh, naming deploy.servers;
//  - a host whose sshd has no SFTP subsystem (where plain scp fails): enrolled, the binary travels on ssh's stdin.
// And `pmon remove --force` of a host that never got the agent.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { requireBinary } from "../../helpers/binary.ts";
import { labServerListening, spawnLabServer, stopLabServer, writeLabConfig } from "../../helpers/fleet/lab-server.ts";
import { createLab, run, type Lab, type LabHost } from "../../lab/lab.ts";

let lab: Lab;
let dir: string;
let server: Subprocess;
let h1: LabHost;
let h2: LabHost;
let h3: LabHost;

function writeConfig(name: string, extra: { servers?: string[]; url?: string } = {}): string {
  return writeLabConfig(lab, dir, name, { intervalS: 1, sampleMs: 300, managerIntervalS: 3600, url: extra.url, deploy: `servers = ${JSON.stringify(extra.servers ?? [])}` });
}

const enroll = (config: string, ...hosts: string[]) => lab.ctl([requireBinary(), "enroll", "--config", config, ...hosts], { timeoutMs: 180_000 });

beforeAll(async () => {
  lab = await createLab(3);
  [h1, h2, h3] = lab.hosts as [LabHost, LabHost, LabHost];
  dir = join(lab.dir, "server");
  mkdirSync(dir, { recursive: true });
  const config = writeConfig("pmon.toml");
  const log = join(dir, "server.log");
  server = spawnLabServer(lab, requireBinary(), config, log);
  await labServerListening(lab, log);
}, 120_000);

afterAll(async () => {
  await stopLabServer(server);
  await lab?.down();
}, 60_000);

test("an agent that cannot report: the failure quotes its log on the host", async () => {
  // the agents report to a port of the server's address where nothing listens
  const config = writeConfig("dead-port.toml", { servers: [`http://${lab.ctlAddr}:9399`] });
  const r = await enroll(config, h1.addr);
  expect(r.code).toBe(1);
  const failure = r.stderr.split("\n").find((l) => l.includes(`${h1.addr}: agent did not report`))!;
  expect(failure).toBeDefined();
  expect(failure).toContain("its log on the host ends: ");
  expect(failure).toContain(`http://${lab.ctlAddr}:9399`);
}, 200_000);

test("agents that would report to a loopback address: refused with the fix, before any ssh", async () => {
  const config = writeConfig("loopback.toml", { url: "http://127.0.0.1:9300" });
  const r = await enroll(config, h2.addr);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`the agents on ${h2.addr} would report to http://127.0.0.1:9300 (from server.url (deploy.servers is empty)), a loopback address`);
  expect(r.stderr).toContain("Set deploy.servers");
  expect(existsSync(join(h2.dir, "opt/pmon"))).toBe(false);
}, 60_000);

test("a host without an SFTP subsystem is enrolled: the binary travels on ssh's stdin, no scp", async () => {
  // h3's sshd loses its sftp subsystem; SIGHUP makes sshd re-read its config
  const cfg = join(h3.dir, "sshd_config");
  writeFileSync(cfg, readFileSync(cfg, "utf8").replace(/^Subsystem sftp .*$/m, ""));
  expect((await lab.ssh(h3, "kill -HUP $(cat /run/sshd.pid)")).code).toBe(0);
  await Bun.sleep(500);
  // precondition: the default (SFTP) scp fails against it
  writeFileSync(join(dir, "probe.txt"), "x");
  const plain = await lab.ctl(["scp", "-q", "-i", lab.identity, "-o", `UserKnownHostsFile=${lab.knownHosts}`, "-o", "BatchMode=yes", join(dir, "probe.txt"), `root@${h3.addr}:/opt/probe.txt`]);
  expect(plain.code).not.toBe(0);
  const r = await enroll(join(dir, "pmon.toml"), h3.addr);
  expect(r.stderr).not.toContain("unreachable");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`${h3.addr.replaceAll(".", "\\.")}\\s+running`));
  expect(existsSync(join(h3.dir, "opt/pmon/pmon"))).toBe(true);
}, 200_000);

test("remove --force of a host that never got the agent: removed, what was left named, hidden from status", async () => {
  const config = join(dir, "pmon.toml");
  // a host registered for deployment whose sshd is gone: enroll fails, remove cannot clean up
  const gone = "10.200.0.99"; // on the lab bridge, nobody there
  const e = await enroll(config, gone);
  expect(e.code).toBe(1);
  const plain = await lab.ctl([requireBinary(), "remove", "--config", config, gone], { timeoutMs: 120_000 });
  expect(plain.code).toBe(1);
  expect(plain.stderr).toContain(`pmon remove --force ${gone}`);
  const forced = await lab.ctl([requireBinary(), "remove", "--config", config, "--force", gone], { timeoutMs: 120_000 });
  expect(forced.code).toBe(0);
  expect(forced.stderr).toContain(`${gone}: secret revoked and marked removed (--force), but NOT cleaned up: unreachable`);
  expect(forced.stderr).toContain("delete /opt/pmon");
  const st = await run([requireBinary(), "status", "--config", config, "--json"]);
  expect(JSON.parse(st.stdout).hosts.map((h: { host: string }) => h.host)).not.toContain(gone);
  const all = await run([requireBinary(), "status", "--config", config, "--json", "--all"]);
  expect(JSON.parse(all.stdout).hosts.find((h: { host: string }) => h.host === gone)?.state).toBe("removed");
}, 200_000);
