// Running the compiled `pmon server` / `pmon agent` / `pmon enroll` as real processes for end-to-end tests.
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { requireBinary } from "../binary.ts";

/** A loopback port that was free a moment ago. */
export function freePort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

export interface Proc {
  proc: Subprocess;
  log: string;
  /** resolves with the exit code */
  exited: Promise<number>;
  text(): string;
}

/** Starts the binary with `args`; stderr and stdout go to `logFile` (appended). */
export function spawnPmon(args: string[], logFile: string, env: Record<string, string> = {}): Proc {
  const bin = requireBinary();
  const fd = openSync(logFile, "a");
  const proc = Bun.spawn([bin, ...args], {
    stdout: fd,
    stderr: fd,
    stdin: "ignore",
    env: { ...process.env, PMON_LOG_LEVEL: "info", NO_COLOR: "1", ...env },
  });
  closeSync(fd);
  return { proc, log: logFile, exited: proc.exited, text: () => readFileSync(logFile, "utf8") };
}

/**
 * The fleet reply key every server and enroll of one test directory share (as the servers of a real
 * fleet share one copied file): agents enrolled there trust replies from all of them.
 */
export function replyKeyEnv(dir: string): Record<string, string> {
  return { PMON_SERVER_REPLY_KEY_FILE: join(dir, "reply.key") };
}

export function startServer(dir: string, storage: string, port: number, name = "server", env: Record<string, string> = {}): Proc {
  return spawnPmon(["server", "--listen", `127.0.0.1:${port}`, "--storage", storage, "--data-dir", join(dir, name)], join(dir, `${name}.log`), { ...replyKeyEnv(dir), ...env });
}

export interface AgentOpts {
  dir: string;
  host: string;
  servers: string[];
  secretFile: string;
  env?: Record<string, string>;
}

export function startAgent(o: AgentOpts, name = o.host): Proc {
  return spawnPmon(
    ["agent", "--server", o.servers.join(","), "--host", o.host, "--data-dir", join(o.dir, name), "--secret-file", o.secretFile, "--interval", "1"],
    join(o.dir, `${name}.log`),
    { PMON_AGENT_JITTER_S: "0", ...o.env },
  );
}

/** `pmon enroll --no-deploy HOST --secret-out FILE` against `storage`; returns the exit code. */
export async function enrollNoDeploy(dir: string, storage: string, host: string, secretOut: string): Promise<number> {
  const p = spawnPmon(["enroll", "--no-deploy", host, "--secret-out", secretOut, "--storage", storage, "--data-dir", join(dir, "enroll")], join(dir, "enroll.log"), replyKeyEnv(dir));
  return p.exited;
}

export async function waitHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url + "/healthz", { signal: AbortSignal.timeout(2000) });
      if (res.status === 200 || res.status === 503) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await Bun.sleep(50);
  }
}
