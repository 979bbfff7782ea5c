// `make run` (scripts/run-local.sh) in a directory of its own: a second run stops the first and
// waits for it, reports of earlier runs do not count as this run's first report, a port taken by
// another program stops it with the port and PMON_PORT named, and an agent that never reports ends
// it non-zero with the agent log's last line.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../helpers/binary.ts";
import { isAlive } from "../../helpers/pid.ts";
import { cleanEnv } from "../../helpers/pmon-binary.ts";
import { freePort } from "../../helpers/server/procs.ts";

const dirs: string[] = [];
function runDir(): string {
  const d = mkdtempSync(join(tmpdir(), "pmon-make-run-"));
  dirs.push(d);
  return d;
}

async function script(args: string[], env: Record<string, string>) {
  const p = Bun.spawn(["bash", join(ROOT, "scripts/run-local.sh"), ...args], { env: cleanEnv({ NO_COLOR: "1", ...env }), stdout: "pipe", stderr: "pipe", stdin: "ignore", timeout: 120_000 });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

afterAll(async () => {
  for (const d of dirs) {
    await script(["stop"], { PMON_RUN_DIR: d });
    rmSync(d, { recursive: true, force: true });
  }
});

test("run twice: the second run stops the first, waits for it, and waits for a report of its own", async () => {
  const dir = runDir();
  const env = { PMON_RUN_DIR: dir, PMON_PORT: String(freePort()) };
  const first = await script([], env);
  expect(first.stderr).not.toContain("[error]");
  expect(first.code).toBe(0);
  const pids = ["server", "agent"].map((p) => Number(readFileSync(join(dir, `${p}.pid`), "utf8")));
  const secondStarted = Date.now();
  const second = await script([], env);
  expect(second.code).toBe(0);
  // the report it waited for is one of this run, not the first run's last one
  const st = Bun.spawnSync([join(ROOT, "dist/pmon"), "status", "--config", join(dir, "pmon.toml"), "--json"], { env: cleanEnv() });
  const lastReport = Math.max(...JSON.parse(st.stdout.toString()).hosts.map((h: { last_report_at: number }) => h.last_report_at));
  expect(lastReport).toBeGreaterThanOrEqual(secondStarted);
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
  // a fresh log of the new server, not interleaved with the old one's shutdown
  const log = readFileSync(join(dir, "server.log"), "utf8");
  expect(log.match(/listening on/g)).toHaveLength(1);
  expect(log).not.toContain("stopping");
  expect(second.stdout).toMatch(/running\s+\S+\s+\d+s/);
  const stop = await script(["stop"], env);
  expect(stop.stdout).toContain("stopped pmon server");
  expect(existsSync(join(dir, "server.pid"))).toBe(false);
}, 120_000);

test("a port taken by another program: stop with the port and PMON_PORT", async () => {
  const other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("not pmon") });
  try {
    const dir = runDir();
    const r = await script([], { PMON_RUN_DIR: dir, PMON_PORT: String(other.port) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${other.port}`);
    expect(r.stderr).toContain("PMON_PORT=");
    expect(r.stdout).not.toContain("never");
    expect(existsSync(join(dir, "agent.pid"))).toBe(false);
  } finally {
    other.stop(true);
  }
}, 60_000);

test("no report in time: exit non-zero with the agent log's last line", async () => {
  const dir = runDir();
  const dead = freePort();
  // the environment overrides the file: the agent reports to a port where nothing listens
  const r = await script([], { PMON_RUN_DIR: dir, PMON_PORT: String(freePort()), PMON_RUN_WAIT_S: "3", PMON_AGENT_SERVERS: `http://127.0.0.1:${dead}` });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("no report from the agent within 3 s; its log's last line: ");
  // the line quoted is a line of the agent's log (which grows once more as the agent is stopped)
  const quoted = /its log's last line: (.*)$/m.exec(r.stderr)![1]!;
  expect(quoted.length).toBeGreaterThan(10);
  expect(readFileSync(join(dir, "agent.log"), "utf8").split("\n")).toContain(quoted);
  expect(existsSync(join(dir, "server.pid"))).toBe(false); // stopped again
}, 60_000);
