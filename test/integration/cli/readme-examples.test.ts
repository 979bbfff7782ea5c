// Every `pmon ...` command in README.md's code blocks and in the commands' --help examples runs as
// written, against a real server and agent on SQLite, and none fails with a usage error (unknown
// flag, stray word, a time it cannot read). Everything runs inside a network namespace of its own,
// where only loopback exists: examples naming fleet hosts (db1, 10.0.0.11) fail fast and touch nothing,
// and with a private /tmp, so `--secret-out /tmp/db7.secret` writes nothing on this machine.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { EXAMPLES } from "../../../src/cli/_examples.ts";
import { requireBinary, ROOT } from "../../helpers/binary.ts";
import { cleanEnv } from "../../helpers/pmon-binary.ts";

/** Shell-like words of one command line: quotes grouped, a trailing `# comment` and `| pipe` dropped. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = "";
  let quote: string | undefined;
  let started = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      started = true;
    } else if (ch === "#" && !started && cur === "") break;
    else if (ch === "|" || ch === ";" || ch === "&" || ch === ">" || ch === "<") break;
    else if (/\s/.test(ch)) {
      if (started) words.push(cur);
      cur = "";
      started = false;
    } else {
      cur += ch;
      started = true;
    }
  }
  if (started) words.push(cur);
  return words;
}

/** `pmon ...` and `dist/pmon ...` lines of the ```sh code blocks of a markdown text. */
export function exampleCommands(markdown: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) {
      inBlock = !inBlock && /^```(sh|bash|console)\s*$/.test(line);
      continue;
    }
    const m = inBlock ? /^(?:\$ )?((?:dist\/)?pmon\s.*)$/.exec(line.trim()) : null;
    if (m) out.push(m[1]!);
  }
  return out;
}

const USAGE_ERRORS = /unknown option|unknown command|unexpected argument|needs a value|cannot understand the time|not a valid time|must be one of|is a switch/;

const readme = exampleCommands(readFileSync(join(ROOT, "README.md"), "utf8"));
// help examples that are pmon command lines (not `source <(pmon completion bash)`)
const helpExamples = Object.values(EXAMPLES)
  .flat()
  .map((e) => e.trim())
  .filter((e) => e.startsWith("pmon "));
// the answering commands first: enroll and remove change the fleet that status reports on
const CHANGES_STATE = /^(dist\/)?pmon (enroll|remove|server)\b/;
const examples = [...new Set([...readme, ...helpExamples])].sort((a, b) => Number(CHANGES_STATE.test(a)) - Number(CHANGES_STATE.test(b)));
const NETNS = `pmon-readme-${process.pid}`;
// not under /tmp: the examples see a private, empty /tmp
mkdirSync(join(ROOT, ".tmp"), { recursive: true });
const dir = mkdtempSync(join(ROOT, ".tmp", "readme-"));
const config = join(dir, "pmon.toml");
const procs: Subprocess[] = [];

const PRIVATE_TMP = ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount -t tmpfs tmpfs /tmp && exec "$@"', "sh"];

function inNetns(argv: string[], env: Record<string, string>, cwd: string, timeoutMs: number) {
  return Bun.spawn(["ip", "netns", "exec", NETNS, ...PRIVATE_TMP, ...argv], { env, cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGTERM" });
}

/** A long-running command (the server, the agent) writing to `log`: a pipe nobody reads would stop it once full. */
function startInNetns(argv: string[], log: string) {
  const fd = openSync(log, "a");
  try {
    return Bun.spawn(["ip", "netns", "exec", NETNS, ...PRIVATE_TMP, ...argv], { env: env(), cwd: dir, stdin: "ignore", stdout: fd, stderr: fd, timeout: 600_000, killSignal: "SIGTERM" });
  } finally {
    closeSync(fd);
  }
}

const tail = (log: string) => (existsSync(log) ? readFileSync(log, "utf8").slice(-1500) : "(no output)");

const env = () => cleanEnv({ PMON_CONFIG: config, HOME: join(dir, "home"), NO_COLOR: "1", PMON_LOG_LEVEL: "info" });

beforeAll(async () => {
  expect(Bun.spawnSync(["ip", "netns", "add", NETNS]).exitCode).toBe(0);
  expect(Bun.spawnSync(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"]).exitCode).toBe(0);
  mkdirSync(join(dir, "home/.ssh"), { recursive: true });
  writeFileSync(
    config,
    `[agent]
servers = ["http://127.0.0.1:9300"]
secret_file = "${dir}/agent.secret"
data_dir = "${dir}/agent"
interval_s = 1
jitter_s = 0
host = "readme-host"

[server]
listen = "127.0.0.1:9300"
url = "http://127.0.0.1:9300"
data_dir = "${dir}/server"
`,
  );
  // `dist/pmon top --config .tmp/run/pmon.toml` as `make run` leaves it: the examples run from a
  // directory holding that file
  mkdirSync(join(dir, "cwd/.tmp/run"), { recursive: true });
  cpSync(config, join(dir, "cwd/.tmp/run/pmon.toml"));
  symlinkSync(join(ROOT, "test"), join(dir, "cwd/test")); // --proc-root test/fixtures/proc
  const bin = requireBinary();
  const serverLog = join(dir, "server.log");
  const agentLog = join(dir, "agent.log");
  const server = startInNetns([bin, "server"], serverLog);
  procs.push(server);
  const enroll = inNetns([bin, "enroll", "--no-deploy", "readme-host", "--secret-out", join(dir, "agent.secret")], env(), dir, 30_000);
  for (let i = 0; i < 100 && (await enroll.exited) !== 0; i++) {
    await Bun.sleep(100); // the server may still be creating the schema
    const again = inNetns([bin, "enroll", "--no-deploy", "readme-host", "--secret-out", join(dir, "agent.secret")], env(), dir, 30_000);
    if ((await again.exited) === 0) break;
  }
  procs.push(startInNetns([bin, "agent"], agentLog));
  // wait for stored reports so status and top have something to show
  for (let i = 0; i < 300; i++) {
    const s = inNetns([bin, "status", "--json"], env(), dir, 10_000);
    if (/"last_report_at": \d/.test(await new Response(s.stdout).text())) return;
    await Bun.sleep(100);
  }
  throw new Error(`the agent never reported\n--- server:\n${tail(serverLog)}\n--- agent:\n${tail(agentLog)}`);
}, 60_000);

afterAll(async () => {
  for (const p of procs) p.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
  Bun.spawnSync(["ip", "netns", "del", NETNS]);
  rmSync(dir, { recursive: true, force: true });
});

async function runExample(line: string) {
  const words = shellWords(line).map((w) => w.replace(/^~(?=\/)/, join(dir, "home")));
  const argv = [requireBinary(), ...words.slice(1)];
  // long-running commands (a server, an agent) that got past their flags are stopped after a while
  const p = inNetns(argv, env(), join(dir, "cwd"), 8_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

test("README.md holds pmon examples to run", () => {
  expect(readme.length).toBeGreaterThanOrEqual(6);
  expect(readme.some((l) => l.startsWith("pmon top"))).toBe(true);
});

describe.each(examples.map((l) => [l]))("%s", (line) => {
  test("runs without a usage error", async () => {
    const r = await runExample(line);
    expect(r.stderr).not.toMatch(USAGE_ERRORS);
    expect(r.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m); // no stack trace
    expect(r.code).not.toBe(4);
    const cmd = shellWords(line)[1];
    // the answering commands give their answer: the store has this host's reports
    if (cmd === "status") expect([r.code, r.stdout]).toEqual([0, expect.stringContaining("readme-host")]);
    if (cmd === "top") {
      if (line.includes("--json")) expect(JSON.parse(r.stdout).by).toMatch(/^(cpu|mem|io|net)$/);
      else expect(r.stdout).toMatch(/^top \d+ by (cpu|mem|io|net) /);
      expect(r.code === 0 || (r.code === 1 && /no samples recorded/.test(r.stdout + r.stderr))).toBe(true);
    }
    if (cmd === "agent" && line.includes("--once")) expect(r.code).toBe(0);
  }, 20_000);
});
