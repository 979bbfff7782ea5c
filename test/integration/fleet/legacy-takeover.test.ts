// Enrolling a host that runs the old Python client (started from root's crontab, as the old tool set it
// up): the client is stopped, its cron entry and its credentials file are gone before the agent starts,
// the rest of its directory stays, and the enroll summary says what was done. A real sshd host.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { requireBinary } from "../../helpers/binary.ts";
import { labServerListening, spawnLabServer, stopLabServer, writeLabConfig } from "../../helpers/fleet/lab-server.ts";
import { createLab, waitFor, type Lab, type LabHost } from "../../lab/lab.ts";

const OLD_DIR = "/opt/soft/rpc_for_monitor";
let lab: Lab;
let host: LabHost;
let dir: string;
let configFile: string;
let server: Subprocess | undefined;

beforeAll(async () => {
  lab = await createLab(1);
  host = lab.hosts[0]!;
  dir = join(lab.dir, "server");
  mkdirSync(dir, { recursive: true });
  configFile = writeLabConfig(lab, dir, "pmon.toml", { intervalS: 2, sampleMs: 300 });
  const log = join(dir, "server.log");
  server = spawnLabServer(lab, requireBinary(), configFile, log);
  await labServerListening(lab, log);

  // The old client's layout on the host: its directory (the old tool's files are stood in for by small
  // scripts), the root crontab line that restarts it every minute, and the client itself running.
  const setup = await lab.ssh(
    host,
    `set -e
mkdir -p ${OLD_DIR}/conf ${OLD_DIR}/lib ${OLD_DIR}/state ${OLD_DIR}/logs /var/spool/cron/crontabs
printf '[Monitor]\\nuser = monitor_rw\\npassword = oldsecret\\n' > ${OLD_DIR}/conf/config.ini
printf 'while :; do sleep 1; done\\n' > ${OLD_DIR}/rpc.py
printf 'cd ${OLD_DIR} && bash rpc.py --role client --client ${host.addr} --port 9300 --server 10.200.0.1\\n' > ${OLD_DIR}/start_client.sh
echo '# helpers' > ${OLD_DIR}/lib/Config.py
printf '# m h dom mon dow command\\n*/1 * * * * bash ${OLD_DIR}/start_client.sh\\n0 3 * * * /usr/local/bin/backup.sh\\n' > /var/spool/cron/crontabs/root
chmod 600 /var/spool/cron/crontabs/root
cd ${OLD_DIR}
nohup bash ${OLD_DIR}/rpc.py --role client --client ${host.addr} --port 9300 --server 10.200.0.1 </dev/null >/dev/null 2>&1 &
`,
  );
  expect(setup.code).toBe(0);
  await waitFor("the old client to run", async () => (await lab.processes(host)).some((p) => p.cmdline.includes("rpc.py --role client")), 10_000, 100);
}, 120_000);

afterAll(async () => {
  await stopLabServer(server);
  await lab?.down();
}, 60_000);

test("enroll stops the old client, removes its cron entry and config.ini, keeps the rest, and says so", async () => {
  const r = await lab.ctl([requireBinary(), "enroll", "--config", configFile, host.addr], { timeoutMs: 180_000 });
  expect(r.stderr).not.toContain("    at ");
  expect(r.code).toBe(0);
  const summary = r.stdout + r.stderr;
  expect(summary).toContain("old client taken over");
  expect(summary).toContain("/var/spool/cron/crontabs/root");
  expect(summary).toContain(`${OLD_DIR}/conf/config.ini`);

  // the client is gone and stays gone; the agent runs
  const procs = await lab.processes(host);
  expect(procs.filter((p) => p.cmdline.includes("rpc.py"))).toEqual([]);
  expect(procs.some((p) => p.cmdline.includes("pmon agent"))).toBe(true);
  // only the client's cron line went
  const crontab = (await lab.ssh(host, "cat /var/spool/cron/crontabs/root")).stdout;
  expect(crontab).not.toContain("start_client.sh");
  expect(crontab).toContain("/usr/local/bin/backup.sh");
  expect(crontab).toContain("# m h dom mon dow command");
  expect((await lab.ssh(host, "stat -c %a /var/spool/cron/crontabs/root")).stdout.trim()).toBe("600");
  // the credentials are deleted; the rest of the old directory is kept (deploy.remove_legacy_dir = false)
  const opt = join(host.dir, "opt");
  expect(existsSync(join(opt, "soft/rpc_for_monitor/conf/config.ini"))).toBe(false);
  expect(existsSync(join(opt, "soft/rpc_for_monitor/lib/Config.py"))).toBe(true);
  expect(readFileSync(join(opt, "soft/rpc_for_monitor/state/state.log"), "utf8").trim()).toBe("stop");
}, 240_000);
