// A compiled `pmon server` on SQLite with one compiled agent enrolled (--no-deploy) and reporting to it
// every intervalS: what the benches of the agent's real loop (collect.ts, destroy-flood.ts) measure.
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitHttp } from "../test/helpers/server/procs.ts";

export interface ReportingAgent {
  agent: Bun.Subprocess;
  /** waits until the server has accepted `n` reports in all; returns the count */
  waitFor(n: number): Promise<number>;
  /** what the agent has logged so far */
  agentLog(): string;
  stop(): Promise<void>;
}

/** Starts both in `dir` (logs: server.log, enroll.log, agent.log); `slackMs` is added to waitFor's deadline. */
export async function startReportingAgent(o: { pmon: string; dir: string; host: string; intervalS: number; slackMs: number }): Promise<ReportingAgent> {
  const url = `http://127.0.0.1:${freePort()}`;
  const config = join(o.dir, "empty.toml");
  writeFileSync(config, "");
  const spawnLogged = (args: string[], name: string, env: Record<string, string> = {}) => {
    const fd = openSync(join(o.dir, `${name}.log`), "a");
    const p = Bun.spawn([o.pmon, ...args], { stdout: fd, stderr: fd, stdin: "ignore", env: { ...process.env, NO_COLOR: "1", ...env } });
    closeSync(fd);
    return p;
  };
  const log = (name: string) => readFileSync(join(o.dir, `${name}.log`), "utf8");
  const storage = `sqlite:${join(o.dir, "pmon.db")}`;
  const serverDir = join(o.dir, "server");
  const server = spawnLogged(["server", "--config", config, "--listen", url.slice("http://".length), "--storage", storage, "--data-dir", serverDir, "--log-level", "warn"], "server");
  let agent: Bun.Subprocess | undefined;
  const stop = async () => {
    agent?.kill("SIGTERM");
    await agent?.exited;
    server.kill("SIGTERM");
    await server.exited;
  };
  try {
    await waitHttp(url);
    const secret = join(o.dir, "agent.secret");
    // the server's data dir: enroll writes the server's reply key into the secret file for the agent to pin
    const enroll = spawnLogged(["enroll", "--config", config, "--no-deploy", o.host, "--secret-out", secret, "--storage", storage, "--data-dir", serverDir], "enroll");
    if ((await enroll.exited) !== 0) throw new Error(`enroll --no-deploy failed: ${log("enroll")}`);
    agent = spawnLogged(
      ["agent", "--config", config, "--server", url, "--host", o.host, "--data-dir", join(o.dir, "agent"), "--secret-file", secret, "--interval", String(o.intervalS), "--log-level", "warn"],
      "agent",
      { PMON_AGENT_JITTER_S: "0" },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  const running = agent;
  const accepted = async () => Number(/^pmon_reports_accepted_total(?:\{[^}]*\})? ([0-9.e+]+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
  return {
    agent: running,
    async waitFor(n) {
      const deadline = Date.now() + (n + 5) * o.intervalS * 1000 + o.slackMs;
      for (;;) {
        const a = await accepted();
        if (a >= n) return a;
        if (Date.now() > deadline || running.exitCode !== null) throw new Error(`agent delivered ${a} of ${n} reports: ${log("agent").slice(-2000)}`);
        await Bun.sleep(20);
      }
    },
    agentLog: () => log("agent"),
    stop,
  };
}

/** user and system CPU ms of a process (all its threads) */
export function cpuMsOf(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(f[11]) * 10, sys: Number(f[12]) * 10 }; // fields 14 and 15, USER_HZ = 100
}

/** peak RSS (VmHWM) of a process, MB */
export function hwmMbOf(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
}
