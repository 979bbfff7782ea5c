// A fleet of one on loopback: `pmon server` on SQLite, this machine registered with
// `pmon enroll --no-deploy`, and a `pmon agent` reporting every second, all as real processes of the
// compiled binary sharing one config file (as `make run` sets them up).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pmon } from "./pmon-binary.ts";
import { freePort, spawnPmon, type Proc } from "./server/procs.ts";

export interface LocalFleet {
  dir: string;
  config: string;
  port: number;
  host: string;
  server: Proc;
  agent?: Proc;
  /** SIGTERM and wait */
  stopServer(): Promise<void>;
  stopAgent(): Promise<void>;
  down(): Promise<void>;
}

export async function startLocalFleet(opts: { host?: string; heartbeatS?: number; extraToml?: string } = {}): Promise<LocalFleet> {
  const dir = mkdtempSync(join(tmpdir(), "pmon-local-"));
  const port = freePort();
  const host = opts.host ?? "local1";
  const config = join(dir, "pmon.toml");
  writeFileSync(
    config,
    `[agent]
host = "${host}"
servers = ["http://127.0.0.1:${port}"]
secret_file = "${dir}/agent.secret"
data_dir = "${dir}/agent"
interval_s = 1
jitter_s = 0

[server]
listen = "127.0.0.1:${port}"
url = "http://127.0.0.1:${port}"
data_dir = "${dir}/server"
heartbeat_s = ${opts.heartbeatS ?? 1}
${opts.extraToml ?? ""}`,
  );
  const server = spawnPmon(["server", "--config", config], join(dir, "server.log"));
  const fleet: LocalFleet = {
    dir,
    config,
    port,
    host,
    server,
    async stopServer() {
      server.proc.kill("SIGTERM");
      await server.exited;
    },
    async stopAgent() {
      fleet.agent?.proc.kill("SIGTERM");
      await fleet.agent?.exited;
    },
    async down() {
      await fleet.stopAgent();
      await fleet.stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // enroll --no-deploy needs the schema the server creates at start
  for (let i = 0; ; i++) {
    const r = await pmon(["enroll", "--config", config, "--no-deploy", host, "--secret-out", join(dir, "agent.secret")]);
    if (r.code === 0) break;
    if (i > 100) throw new Error(`enroll --no-deploy failed: ${r.stderr}\n${server.text()}`);
    await Bun.sleep(100);
  }
  fleet.agent = spawnPmon(["agent", "--config", config], join(dir, "agent.log"));
  for (let i = 0; ; i++) {
    const r = await pmon(["status", "--config", config, "--json"]);
    if (/"last_report_at": \d/.test(r.stdout)) break;
    if (i > 300) throw new Error(`no report arrived: ${fleet.agent.text()}`);
    await Bun.sleep(100);
  }
  return fleet;
}
