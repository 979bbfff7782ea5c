// pmon's own supervisor for hosts without systemd (`pmon supervise`, started detached by the deploy).
// It runs `<install dir>/pmon agent`, pipes the agent's output into a capped, rotated log, and starts
// the agent again when it exits: at once after exit code 3 when a new binary is in place (an upgrade),
// otherwise with a doubling backoff.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT_UPGRADE } from "../protocol/api.ts";
import { CappedLog } from "./capped-log.ts";

/**
 * An agent that exits for an upgrade while no new binary has arrived yet (or after a rollback) is not
 * crashing: it reported fine. It is started again after a fixed pause, without the crash backoff.
 */
const UPGRADE_PENDING_MS = 5000;

export interface SuperviseOptions {
  installDir: string;
  logMaxBytes: number;
  /** first restart delay; doubles up to maxBackoffMs (tests use small values) */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** an agent that ran this long is healthy again: the backoff starts over */
  healthyAfterMs?: number;
}

export interface SupervisorPaths {
  binary: string;
  config: string;
  log: string;
  pidFile: string;
  agentPidFile: string;
  envFile: string;
}

function supervisorPaths(installDir: string): SupervisorPaths {
  return {
    binary: join(installDir, "pmon"),
    config: join(installDir, "pmon.toml"),
    log: join(installDir, "pmon.log"),
    pidFile: join(installDir, "supervise.pid"),
    agentPidFile: join(installDir, "agent.pid"),
    envFile: join(installDir, "agent.env"),
  };
}

/** KEY=VALUE lines (optionally quoted values); blank lines and # comments are skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    env[m[1]!] = v;
  }
  return env;
}

/** Which binary is in place: a new upload is a new inode (it is renamed over the old one). */
function binaryIdentity(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.mtimeMs}`;
  } catch {
    return "missing";
  }
}

/** Runs until SIGTERM/SIGINT; returns the exit code for the supervisor process. */
export async function supervise(opts: SuperviseOptions): Promise<number> {
  const paths = supervisorPaths(opts.installDir);
  const out = new CappedLog(paths.log, opts.logMaxBytes);
  const backoffStart = opts.backoffMs ?? 1000;
  const maxBackoff = opts.maxBackoffMs ?? 60_000;
  const healthyAfter = opts.healthyAfterMs ?? 60_000;
  writeFileSync(paths.pidFile, `${process.pid}\n`);

  let stopping = false;
  let child: ReturnType<typeof Bun.spawn> | undefined;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopping = true;
    child?.kill("SIGTERM");
    wake?.();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("SIGHUP", () => {}); // the ssh session that started us may hang up

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  out.line(`supervisor ${process.pid} started for ${paths.binary}`);
  let backoff = backoffStart;
  while (!stopping) {
    const env = { ...process.env, ...(existsSync(paths.envFile) ? parseEnvFile(readFileSync(paths.envFile, "utf8")) : {}) };
    const identity = binaryIdentity(paths.binary);
    const started = Date.now();
    let code: number;
    const refusal = await refusedVersion(paths.binary, env);
    if (refusal) {
      out.line(refusal);
      code = 1;
    } else {
      try {
        child = Bun.spawn([paths.binary, "agent", "--config", paths.config], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: opts.installDir });
      } catch (e) {
        out.line(`cannot start ${paths.binary}: ${(e as Error).message}`);
        child = undefined;
      }
      if (child) {
        writeFileSync(paths.agentPidFile, `${child.pid}\n`);
        out.line(`agent started, pid ${child.pid}`);
        await Promise.all([pump(child.stdout as ReadableStream<Uint8Array>, out), pump(child.stderr as ReadableStream<Uint8Array>, out), child.exited]);
        code = child.exitCode ?? 128;
        out.line(`agent ${child.pid} exited with ${child.signalCode ? `signal ${child.signalCode}` : `code ${code}`}`);
        child = undefined;
      } else {
        code = 127;
      }
    }
    if (stopping) break;
    if (Date.now() - started > healthyAfter) backoff = backoffStart;
    if (code === EXIT_UPGRADE && binaryIdentity(paths.binary) !== identity) {
      out.line("a new binary is in place: starting it now");
      backoff = backoffStart;
      continue;
    }
    if (code === EXIT_UPGRADE) {
      out.line(`the server runs another version but no new binary is in place yet: restarting in ${UPGRADE_PENDING_MS / 1000} s`);
      await sleep(UPGRADE_PENDING_MS);
      continue;
    }
    out.line(`restarting in ${Math.round(backoff / 100) / 10} s`);
    await sleep(backoff);
    backoff = Math.min(backoff * 2, maxBackoff);
  }
  out.line("supervisor stopping");
  rmSync(paths.agentPidFile, { force: true });
  rmSync(paths.pidFile, { force: true });
  out.close();
  return 0;
}

async function pump(stream: ReadableStream<Uint8Array>, out: CappedLog): Promise<void> {
  for await (const chunk of stream) out.write(chunk);
}

/**
 * Fault injection for rollout tests and an emergency brake for operators: agent.env may name one
 * version (PMON_SUPERVISE_REFUSE_VERSION=0.2.0) that this host must not run. It behaves like a crash
 * of that version, so a rollout to it is rolled back on this host.
 */
async function refusedVersion(binary: string, env: Record<string, string | undefined>): Promise<string | null> {
  const refused = env.PMON_SUPERVISE_REFUSE_VERSION?.trim();
  if (!refused) return null;
  const p = Bun.spawn([binary, "--version"], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
  const version = (await new Response(p.stdout).text()).trim().split(/\s+/)[0] ?? "";
  await p.exited;
  return version === refused ? `refusing to start version ${version} (PMON_SUPERVISE_REFUSE_VERSION in agent.env)` : null;
}
