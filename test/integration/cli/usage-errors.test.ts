// Every subcommand, as listed by `pmon --help` (so commands added later are covered too), refuses an
// unknown flag, a near miss of one of its own flags and a stray word with exit 2, naming the word.
import { describe, expect, test } from "bun:test";
import { pmon } from "../../helpers/pmon-binary.ts";

/** The command names in the COMMANDS section of a help text. */
function commandsIn(help: string): string[] {
  const section = help.split(/^COMMANDS\s*$/m)[1]?.split(/^\S/m)[0] ?? "";
  return [...section.matchAll(/^\s+([a-z][a-z-]*)\s{2,}/gm)].map((m) => m[1]!);
}

/** The long flags in the OPTIONS section of a help text. */
function flagsIn(help: string): string[] {
  return [...help.matchAll(/--([a-z][a-z-]+)/g)].map((m) => m[1]!).filter((f, i, all) => all.indexOf(f) === i);
}

/** Every runnable command path: ["status"], ["config", "check"], ... */
async function commandPaths(prefix: string[] = []): Promise<string[][]> {
  const help = (await pmon([...prefix, "--help"], { env: { NO_COLOR: "1" } })).stdout;
  const subs = commandsIn(help);
  if (subs.length === 0) return [prefix];
  const out: string[][] = [];
  for (const s of subs) out.push(...(await commandPaths([...prefix, s])));
  return out;
}

const paths = await commandPaths();

test("the help lists the commands this test walks", () => {
  expect(paths.map((p) => p.join(" "))).toEqual(expect.arrayContaining(["server", "agent", "enroll", "remove", "status", "top"]));
});

describe.each(paths.map((p) => [p.join(" "), p] as const))("pmon %s", (_name, path) => {
  test("an unknown flag: exit 2, the flag named, nothing run", async () => {
    const r = await pmon([...path, "--frobnicate", "--config", "/nonexistent/pmon.toml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option --frobnicate");
    expect(r.stderr).toContain(`pmon ${path.join(" ")} --help`);
    expect(r.stdout).toBe("");
  });

  test("a near miss of one of its flags gets 'did you mean'", async () => {
    const help = (await pmon([...path, "--help"], { env: { NO_COLOR: "1" } })).stdout;
    const flag = flagsIn(help.split(/^OPTIONS\s*$/m)[1] ?? "").find((f) => f.length >= 5 && f !== "config");
    if (flag === undefined) {
      // a command without flags of its own (completion): any flag is unknown, with no near one
      expect(help).not.toMatch(/^OPTIONS\s*$/m);
      return;
    }
    const typo = flag.slice(0, 2) + flag[3] + flag[2] + flag.slice(4); // two letters swapped
    const r = await pmon([...path, `--${typo}`, "--config", "/nonexistent/pmon.toml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`unknown option --${typo}`);
    expect(r.stderr).toContain(`(did you mean --${flag}?)`);
  });

  test("a word it does not take: exit 2, the word named", async () => {
    const help = (await pmon([...path, "--help"], { env: { NO_COLOR: "1" } })).stdout;
    if (/=<[A-Z]+\.\.\.>/.test(help)) {
      // HOST...: any number of words is fine, so check an unknown flag after them instead
      const r = await pmon([...path, "h1", "h2", "--nope", "--config", "/nonexistent/pmon.toml"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--nope");
      return;
    }
    const positionals = (help.split("\n").find((l) => l.startsWith("USAGE")) ?? "").match(/<[A-Z_]+>|\b[A-Z]{2,}\b/g)?.filter((w) => w !== "USAGE" && w !== "OPTIONS") ?? [];
    const r = await pmon([...path, ...positionals.map((_, i) => `word${i}`), "straywordxyz"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"straywordxyz"');
  });
});

test("an unknown command: exit 2 with the near one", async () => {
  const r = await pmon(["stauts"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('unknown command "stauts"');
  expect(r.stderr).toContain("did you mean status?");
});

test("the issue's own cases", async () => {
  const limt = await pmon(["top", "--limt", "2", "--config", "/nonexistent/pmon.toml"]);
  expect([limt.code, limt.stderr]).toEqual([2, expect.stringContaining("did you mean --limit?")]);
  const since = await pmon(["top", "--since", "2m ago", "--config", "/nonexistent/pmon.toml"]);
  expect([since.code, since.stderr]).toEqual([2, expect.stringContaining("unknown option --since")]);
  // (`pmon status vm nosuch` filters by host and names the unknown ones: test/integration/cli/server-down.test.ts)
  const extra = await pmon(["top", "vm", "nosuch", "--config", "/nonexistent/pmon.toml"]);
  expect([extra.code, extra.stderr]).toEqual([2, expect.stringContaining('unexpected arguments "vm" "nosuch"')]);
});

test("a flag value that starts with '-' is a value, not a flag; --no-SWITCH is accepted", async () => {
  const r = await pmon(["top", "--at", "-3h", "--no-color", "--config", "/nonexistent/pmon.toml"]);
  expect(r.stderr).not.toContain("unknown option");
  expect(r.code).toBe(2); // the config file does not exist: a config error, after the flags passed
  expect(r.stderr).toContain("/nonexistent/pmon.toml");
});

test("hidden commands are checked the same way", async () => {
  const r = await pmon(["supervise", "--install-dir", "/nonexistent", "--bogus"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("unknown option --bogus");
});

test("--help is plain text when piped: no colour codes", async () => {
  for (const argv of [["--help"], ["top", "--help"]]) {
    const r = await pmon(argv, { env: { NO_COLOR: undefined, TEST: undefined, CI: undefined, TERM: "xterm-256color" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("USAGE");
    expect(r.stdout).not.toContain("\u001b[");
  }
});

test("the shell completion's hidden __complete is not checked: its words are completed, never obeyed", async () => {
  const r = await pmon(["__complete", "top", "--li"]);
  expect(r.code).toBe(0);
  expect(r.stdout.trim().split("\n")).toContain("--limit");
});
