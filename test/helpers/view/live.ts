// A real `pmon server` and `pmon agent` (the compiled binary) reporting into a given store, so the
// views are checked on rows the real pipeline wrote. Processes are ended by pid.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "../binary.ts";

export interface LiveFleet {
  dir: string;
  config: string;
  serverUrl: string;
  /** runs the binary with --config; returns exit code and output */
  pmon(args: string[]): { code: number; stdout: string; stderr: string };
  stopAgent(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = s.port!;
  s.stop(true);
  return port;
}

async function ended(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const done = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await done;
  clearTimeout(timer);
}

/** Starts the server on `storage`, enrolls `host` with --no-deploy, and starts its agent at a 1 s interval. */
export async function startLiveFleet(storage: string, host: string): Promise<LiveFleet> {
  const bin = requireBinary();
  const dir = mkdtempSync(join(tmpdir(), "pmon-views-live-"));
  const port = await freePort();
  const serverUrl = `http://127.0.0.1:${port}`;
  const config = join(dir, "pmon.toml");
  writeFileSync(
    config,
    [
      "[server]",
      `storage = ${JSON.stringify(storage)}`,
      `data_dir = ${JSON.stringify(join(dir, "server"))}`,
      `listen = "127.0.0.1:${port}"`,
      `url = ${JSON.stringify(serverUrl)}`,
      "[agent]",
      `host = ${JSON.stringify(host)}`,
      `servers = [${JSON.stringify(serverUrl)}]`,
      `data_dir = ${JSON.stringify(join(dir, "agent"))}`,
      `secret_file = ${JSON.stringify(join(dir, "host.secret"))}`,
      "interval_s = 1",
      "jitter_s = 0",
      "sample_ms = 200",
      "",
    ].join("\n"),
  );
  const pmon = (args: string[]) => {
    const r = spawnSync(bin, [...args, "--config", config], { encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1", PMON_LOG_LEVEL: "info" } });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  const enrolled = pmon(["enroll", "--no-deploy", host, "--secret-out", join(dir, "host.secret")]);
  if (enrolled.code !== 0) throw new Error(`pmon enroll --no-deploy failed (${enrolled.code}): ${enrolled.stderr}`);

  const logs = { server: join(dir, "server.log"), agent: join(dir, "agent.log") };
  const server = spawn(bin, ["server", "--config", config], { stdio: ["ignore", "ignore", "pipe"] });
  let serverErr = "";
  server.stderr!.on("data", (d) => (serverErr += d));
  // the server is up when /healthz answers
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${serverUrl}/healthz`)).status < 500) break;
    } catch {}
    if (server.exitCode !== null || i > 600) throw new Error(`pmon server did not come up: ${serverErr.slice(-2000)}`);
    await Bun.sleep(100);
  }
  const agent = spawn(bin, ["agent", "--config", config], { stdio: ["ignore", "ignore", "pipe"] });
  let agentErr = "";
  agent.stderr!.on("data", (d) => (agentErr += d));

  return {
    dir,
    config,
    serverUrl,
    pmon,
    stopAgent: () => ended(agent),
    async stop() {
      await ended(agent);
      await ended(server);
      writeFileSync(logs.server, serverErr);
      writeFileSync(logs.agent, agentErr);
      if (!process.env.PMON_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true; generous deadline, no fixed sleeps. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

