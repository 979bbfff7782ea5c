// `pmon completion bash|zsh|fish`: each real shell asked for completions, with host names from a real store.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "../../helpers/binary.ts";
import { enrollNoDeploy } from "../../helpers/server/procs.ts";

let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pmon-completion-"));
  // the scripts call `pmon` from PATH, as an installed binary would be found
  symlinkSync(requireBinary(), join(dir, "pmon"));
  const storage = `sqlite:${join(dir, "pmon.db")}`;
  for (const host of ["db-east-1", "db-east-2", "web-1"]) expect(await enrollNoDeploy(dir, storage, host, join(dir, `${host}.secret`))).toBe(0);
  env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, PMON_SERVER_STORAGE: storage, NO_COLOR: "1" } as Record<string, string>;
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function shell(argv: string[]): string[] {
  const r = Bun.spawnSync(argv, { env, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv[0]} exited ${r.exitCode}: ${r.stderr.toString()}`);
  return r.stdout.toString().split("\n").filter(Boolean).map((l) => l.split("\t")[0]!);
}

/** bash: the words on the line, the last one being completed */
const bash = (...words: string[]) =>
  shell(["bash", "-c", `source <(pmon completion bash); COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _pmon; printf '%s\\n' "\${COMPREPLY[@]}"`]);
/** zsh: compadd and compdef stand in for the completion system, _pmon is the generated function */
const zsh = (...words: string[]) =>
  shell(["zsh", "-f", "-c", `compdef() {}; compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@" }; _files() { print FILES }; source <(pmon completion zsh); words=(${words.map((w) => `'${w}'`).join(" ")}); CURRENT=${words.length}; _pmon`]);
/** fish: its own `complete -C` on a command line */
const fish = (line: string) => shell(["fish", "-c", `pmon completion fish | source; complete -C '${line}'`]);

describe.each([
  ["bash", (line: string) => bash(...line.split(" "))],
  ["zsh", (line: string) => zsh(...line.split(" "))],
  ["fish", fish],
] as const)("%s", (_name, ask) => {
  test("subcommands, flags of a subcommand, and enum-free flag lists come from the command definitions", () => {
    expect(ask("pmon sta")).toEqual(["status"]);
    expect(ask("pmon con")).toEqual(["config"]);
    expect(ask("pmon config ch")).toEqual(["check"]);
    expect(ask("pmon top --li")).toEqual(["--limit"]);
    expect(ask("pmon enroll --no-")).toEqual(["--no-deploy"]);
  }, 60_000);

  test("host names from the configured store: remove and status positionals, top --host", () => {
    expect(ask("pmon remove db-")).toEqual(["db-east-1", "db-east-2"]);
    expect(ask("pmon status w")).toEqual(["web-1"]);
    expect(ask("pmon top --host db-east-")).toEqual(["db-east-1", "db-east-2"]);
  }, 60_000);
});

test("an unknown shell is a usage error", () => {
  const r = Bun.spawnSync([requireBinary(), "completion", "tcsh"], { env, stderr: "pipe" });
  expect(r.exitCode).toBe(2);
  expect(r.stderr.toString()).toContain("bash, zsh, fish");
}, 60_000);
