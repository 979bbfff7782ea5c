// A fleet upgrade in the lab (test/lab/lab.ts: sshd hosts in network namespaces): 10 hosts enrolled with
// version A, then a server of version B starts and its manager redeploys every host. Prints the bytes each
// host received (its eth0 counter: the binary, ssh and everything else) and the time until every host
// reports B. The lab's links are fast, so bytes are the figure that matters.
//   make build && bun run bench/upgrade.ts
//   BENCH_UPGRADE_HOSTS (default 10); BENCH_OLD_BIN=<a pmon binary of another version built from older
//   source> adds a third upgrade by that binary, to compare its copy path with this one's.
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { ROOT } from "../test/helpers/binary.ts";
import { labServerListening, spawnLabServer, stopLabServer, writeLabConfig } from "../test/helpers/fleet/lab-server.ts";
import { testMariaDB } from "../test/helpers/mariadb.ts";
import { createLab, run, waitFor, type LabHost } from "../test/lab/lab.ts";

const HOSTS = Number(process.env.BENCH_UPGRADE_HOSTS ?? 10);
const INTERVAL_S = 2;

async function main(): Promise<void> {
  const [lab, db] = await Promise.all([createLab(HOSTS), testMariaDB("bench_upgrade")]);
  const dir = join(lab.dir, "server");
  mkdirSync(dir, { recursive: true });
  const sql = await mysql.createConnection(db.url);
  let server: Bun.Subprocess | undefined;
  try {
    // two versions of this source: the commit line differs, so the second is an upgrade
    const bins: string[] = [];
    for (const v of ["9.0.1", "9.0.2"]) {
      const out = join(dir, `pmon-${v}`);
      const b = Bun.spawnSync(["make", "-s", "build", `VERSION=${v}`, `OUT=${out}`], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      if (b.exitCode !== 0) throw new Error(`make build VERSION=${v} failed: ${b.stderr.toString()}`);
      bins.push(out);
    }
    const configFile = writeLabConfig(lab, dir, "pmon.toml", { intervalS: INTERVAL_S, sampleMs: 500, managerIntervalS: 2, mariadb: db, deploy: 'install_dir = "/opt/pmon"' });
    const startServer = async (bin: string) => {
      await stopLabServer(server);
      const log = join(dir, "server.log");
      server = spawnLabServer(lab, bin, configFile, log);
      await labServerListening(lab, log, 60_000);
    };
    const rxBytes = async (h: LabHost) => Number((await run(["ip", "netns", "exec", h.netns, "cat", "/sys/class/net/eth0/statistics/rx_bytes"])).stdout.trim());
    const versions = async () => {
      const [rows] = await sql.query("SELECT rshost, agent_version FROM tb_monitor_host_config WHERE istate = 2");
      return new Map((rows as { rshost: string; agent_version: string }[]).map((r) => [r.rshost, r.agent_version]));
    };
    const versionOf = (bin: string) => run([bin, "--version"]).then((r) => r.stdout.trim().split(/\s+/)[0]!);
    const measure = async (label: string, bin: string, how: () => Promise<void>) => {
      const want = await versionOf(bin);
      const before = await Promise.all(lab.hosts.map(rxBytes));
      const t0 = performance.now();
      await how();
      await waitFor(`every host on ${want}`, async () => {
        const v = await versions();
        return lab.hosts.every((h) => v.get(h.addr) === want);
      }, 600_000, 250);
      const seconds = (performance.now() - t0) / 1000;
      const after = await Promise.all(lab.hosts.map(rxBytes));
      const perHost = after.map((a, i) => a - before[i]!);
      const total = perHost.reduce((a, b) => a + b, 0);
      console.log(`${label.padEnd(44)} ${(total / 1e6).toFixed(1).padStart(8)} MB received by ${HOSTS} hosts (${(total / HOSTS / 1e6).toFixed(1)} MB each), ${seconds.toFixed(1)} s until all report ${want}`);
    };

    console.log(`upgrade bench: ${HOSTS} lab hosts; binary ${(statSync(bins[0]!).size / 1e6).toFixed(1)} MB; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
    await startServer(bins[0]!);
    await measure("first install, `pmon enroll` of version A", bins[0]!, async () => {
      const r = await lab.ctl([bins[0]!, "enroll", "--config", configFile, ...lab.hosts.map((h) => h.addr)], { timeoutMs: 600_000 });
      if (r.code !== 0) throw new Error(`enroll failed: ${r.stdout}${r.stderr}`);
      console.log(r.stdout.trim().split("\n").filter((l) => l.includes("copied")).slice(0, 2).map((l) => `  ${l.trim()}`).join("\n"));
    });
    await measure("upgrade A → B by the server's manager", bins[1]!, () => startServer(bins[1]!));
    const old = process.env.BENCH_OLD_BIN;
    if (old) await measure("upgrade B → BENCH_OLD_BIN's version, its copy", old, () => startServer(old));
    console.log(`load average after: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  } finally {
    await stopLabServer(server);
    await sql.end();
    await lab.down();
  }
}

if (import.meta.main) {
  await main();
  process.exit(0);
}
