// `pmon supervise` (the compiled binary) running a fake agent: a shell script put where the real
// binary would be. It checks restarts, the upgrade exit code, the capped log and a clean stop.
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CappedLog } from "../../../src/deploy/capped-log.ts";
import { parseEnvFile } from "../../../src/deploy/supervisor.ts";
import { requireBinary } from "../../helpers/binary.ts";
import { waitFor } from "../../lab/lab.ts";

const running: ReturnType<typeof Bun.spawn>[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) {
    p.kill("SIGTERM");
    await Promise.race([p.exited, Bun.sleep(15_000)]);
    p.kill("SIGKILL");
  }
});

function installDir(agentScript: string, extraToml = ""): string {
  const dir = mkdtempSync(join(tmpdir(), "pmon-supervise-"));
  writeAgent(dir, agentScript);
  writeFileSync(join(dir, "pmon.toml"), `[agent]\nlog_max_mb = 1\n${extraToml}`);
  return dir;
}

/** Puts a new fake binary in place the way a deploy does: a new file renamed over the old one. */
function writeAgent(dir: string, script: string): void {
  const tmp = join(dir, ".pmon.upload");
  writeFileSync(tmp, `#!/bin/sh\nD=$(dirname "$0")\nif [ "$1" = --version ]; then echo "$(cat "$D/fake-version" 2>/dev/null || echo 0.0.1) (test)"; exit 0; fi\n${script}\n`);
  chmodSync(tmp, 0o755);
  renameSync(tmp, join(dir, "pmon"));
}

function supervise(dir: string): ReturnType<typeof Bun.spawn> {
  const p = Bun.spawn([requireBinary(), "supervise", "--install-dir", dir, "--config", join(dir, "pmon.toml")], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  running.push(p);
  return p;
}

const log = (dir: string) => (existsSync(join(dir, "pmon.log")) ? readFileSync(join(dir, "pmon.log"), "utf8") : "");
const count = (dir: string) => (existsSync(join(dir, "count")) ? Number(readFileSync(join(dir, "count"), "utf8")) : 0);
const COUNT = `n=$(cat "$D/count" 2>/dev/null || echo 0); echo $((n+1)) > "$D/count"`;

describe("pmon supervise", () => {
  test("restarts a crashed agent with a doubling backoff, logs its output, and records pid files", async () => {
    const dir = installDir(`${COUNT}\necho "fake agent run $(cat "$D/count") args: $*"\nexit 1`);
    const p = supervise(dir);
    await waitFor("three runs of the fake agent", () => count(dir) >= 3, 60_000, 100);
    const text = log(dir);
    expect(text).toContain("fake agent run 1 args: agent --config " + join(dir, "pmon.toml"));
    expect(text).toContain("fake agent run 2");
    expect(text).toContain("exited with code 1");
    expect(text).toContain("restarting in 1 s");
    expect(text).toContain("restarting in 2 s");
    expect(readFileSync(join(dir, "supervise.pid"), "utf8").trim()).toBe(String(p.pid));
  }, 90_000);

  test("exit code 3 with a new binary in place starts the new binary at once", async () => {
    const dir = installDir(`echo "v1 running"\nwhile [ ! -e "$D/go" ]; do sleep 0.05; done\nexit 3`);
    supervise(dir);
    await waitFor("v1 to run", () => log(dir).includes("v1 running"), 30_000, 50);
    writeAgent(dir, `echo "v2 running"\nexec sleep 1000`);
    writeFileSync(join(dir, "go"), "");
    await waitFor("v2 to run", () => log(dir).includes("v2 running"), 30_000, 50);
    const text = log(dir);
    expect(text).toContain("exited with code 3");
    expect(text).toContain("a new binary is in place: starting it now");
    expect(text).not.toContain("restarting in");
    // the agent pid file names the running v2
    const pid = Number(readFileSync(join(dir, "agent.pid"), "utf8"));
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("sleep");
  }, 60_000);

  test("the agent's log is capped and rotated (pmon.log -> pmon.log.1), never past agent.log_max_mb", async () => {
    // ~3 MiB of output against a 1 MiB budget
    const dir = installDir(`i=0\nwhile [ $i -lt 3000 ]; do printf '%01023d\\n' $i; i=$((i+1)); done\necho done-writing\nexec sleep 1000`);
    supervise(dir);
    await waitFor("the fake agent to finish writing", () => log(dir).includes("done-writing"), 60_000, 100);
    const size = statSync(join(dir, "pmon.log")).size + statSync(join(dir, "pmon.log.1")).size;
    expect(size).toBeLessThanOrEqual(1024 * 1024);
    expect(size).toBeGreaterThan(256 * 1024);
    expect(log(dir)).toContain("done-writing");
  }, 90_000);

  test("SIGTERM stops the agent and removes the pid files", async () => {
    const dir = installDir(`echo started\nexec sleep 1000`);
    const p = supervise(dir);
    await waitFor("the agent to start", () => existsSync(join(dir, "agent.pid")) && log(dir).includes("started"), 30_000, 50);
    const agentPid = Number(readFileSync(join(dir, "agent.pid"), "utf8"));
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(existsSync(join(dir, "supervise.pid"))).toBe(false);
    expect(existsSync(join(dir, "agent.pid"))).toBe(false);
    await waitFor("the agent to be gone", () => !existsSync(`/proc/${agentPid}`) || readFileSync(`/proc/${agentPid}/stat`, "utf8").split(") ")[1]!.startsWith("Z"), 10_000, 50);
  }, 60_000);

  test("agent.env is passed to the agent, and a version it refuses is not started", async () => {
    const dir = installDir(`${COUNT}\necho "EXTRA=$PMON_TEST_EXTRA"\nexec sleep 1000`);
    writeFileSync(join(dir, "agent.env"), "# comment\nPMON_TEST_EXTRA=\"from env file\"\n");
    supervise(dir);
    await waitFor("the agent to print its env", () => log(dir).includes("EXTRA=from env file"), 30_000, 50);

    const dir2 = installDir(`${COUNT}\nexec sleep 1000`);
    writeFileSync(join(dir2, "fake-version"), "9.9.9");
    writeFileSync(join(dir2, "agent.env"), "PMON_SUPERVISE_REFUSE_VERSION=9.9.9\n");
    supervise(dir2);
    await waitFor("the refusal", () => log(dir2).includes("refusing to start version 9.9.9"), 30_000, 50);
    expect(count(dir2)).toBe(0);
  }, 60_000);
});

describe("capped log and env file (in process)", () => {
  test("rotation keeps both files within the budget and the newest lines in pmon.log", () => {
    const dir = mkdtempSync(join(tmpdir(), "pmon-capped-"));
    const path = join(dir, "x.log");
    const out = new CappedLog(path, 10_000);
    for (let i = 0; i < 1000; i++) out.write(`line ${i}\n`);
    out.write("x".repeat(50_000)); // one chunk larger than a file keeps its tail only
    out.write("last\n");
    out.close();
    expect(statSync(path).size + statSync(path + ".1").size).toBeLessThanOrEqual(10_000);
    expect(readFileSync(path, "utf8").endsWith("last\n")).toBe(true);
  });

  test("env file parsing", () => {
    expect(parseEnvFile("A=1\n# c\n\nexport B='two words'\nC=\"q\"\nbad line\n_D=x=y")).toEqual({ A: "1", B: "two words", C: "q", _D: "x=y" });
  });
});
