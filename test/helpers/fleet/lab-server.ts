// The pmon server of a lab fleet (test/lab/lab.ts): its config file and its process in the lab's control
// namespace, the one place the lab hosts can reach. The fleet lab tests and the upgrade bench share it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { TestMariaDB } from "../mariadb.ts";
import { waitFor, type Lab } from "../../lab/lab.ts";

/** The server's port: inside the lab's own network namespace, so it never collides with anything. */
export const LAB_SERVER_PORT = 9300;

export interface LabConfig {
  intervalS: number;
  sampleMs: number;
  /** [server] manager_interval_s; pmon's default when absent */
  managerIntervalS?: number;
  /** the store; SQLite in `dir` when absent */
  mariadb?: TestMariaDB;
  /** [server] url, what the agents report to; the server's own lab address when absent */
  url?: string;
  /** more [deploy] lines */
  deploy?: string;
  /** more sections, after [deploy] */
  more?: string;
}

/** Writes `<dir>/<name>`: a server in the control namespace with its data in `dir`, deploying over the lab's ssh key. */
export function writeLabConfig(lab: Lab, dir: string, name: string, c: LabConfig): string {
  const file = join(dir, name);
  const own = `http://${lab.ctlAddr}:${LAB_SERVER_PORT}`;
  const lines = [
    "[agent]",
    `interval_s = ${c.intervalS}`,
    "jitter_s = 0",
    `sample_ms = ${c.sampleMs}`,
    "",
    "[server]",
    `listen = "${lab.ctlAddr}:${LAB_SERVER_PORT}"`,
    `url = "${c.url ?? own}"`,
    c.mariadb && `storage = "mysql://pmon:pmonpw@localhost/${c.mariadb.database}?socket=${encodeURIComponent(c.mariadb.socket)}"`,
    `data_dir = "${dir}"`,
    c.managerIntervalS !== undefined && `manager_interval_s = ${c.managerIntervalS}`,
    "",
    "[deploy]",
    `identity = "${lab.identity}"`,
    `known_hosts = "${lab.knownHosts}"`,
    "connect_timeout_s = 5",
    c.deploy,
    c.more && `\n${c.more}`,
  ];
  writeFileSync(file, lines.filter((l) => typeof l === "string").join("\n") + "\n");
  return file;
}

/** Starts `pmon server` of `bin` in the control namespace, its log (stderr) in `log`; see labServerListening. */
export function spawnLabServer(lab: Lab, bin: string, config: string, log: string): Subprocess {
  return Bun.spawn([...lab.ctlPrefix, bin, "server", "--config", config], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(log) });
}

/**
 * Waits until the server has logged that it listens (so its start-up lines are in `log`) and takes connections
 * on its lab address (a restarted server may find an earlier server's lines in the same log). A server that
 * never does is reported with its log.
 */
export async function labServerListening(lab: Lab, log: string, timeoutMs = 30_000): Promise<void> {
  const said = () => existsSync(log) && readFileSync(log, "utf8").includes("listening on");
  const connects = async () => (await lab.ctl(["bash", "-c", 'exec 3<>"/dev/tcp/$0/$1"', lab.ctlAddr, String(LAB_SERVER_PORT)])).code === 0;
  await waitFor("the pmon server to listen", async () => said() && (await connects()), timeoutMs, 100).catch((e: Error) => {
    throw new Error(`${e.message}: ${existsSync(log) ? readFileSync(log, "utf8") : "(no log)"}`);
  });
}

/** SIGTERM, then SIGKILL if it has not exited within 20 s, so a hung server cannot hold up the test's end. */
export async function stopLabServer(server: Subprocess | undefined): Promise<void> {
  if (!server) return;
  server.kill("SIGTERM");
  await Promise.race([server.exited, Bun.sleep(20_000)]);
  server.kill("SIGKILL");
}
