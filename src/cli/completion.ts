// Shell completion. The scripts are thin: they ask the binary (`pmon __complete WORDS...`) for the
// candidates, which come from the same citty definitions the commands run with, so they cannot drift.
// Host names come from the configured store when it answers within a second.
import { stdout } from "../util/output.ts";
import { defineCommand, type ArgDef, type CommandDef, type Resolvable } from "citty";
import { loadConfig } from "../config/load.ts";
import type { Db } from "../store/db.ts";
import { withStore } from "./status.ts";

const resolve = async <T>(r: Resolvable<T> | undefined): Promise<T | undefined> => (typeof r === "function" ? await (r as () => T | Promise<T>)() : await r);

interface Node {
  subCommands: Record<string, CommandDef>;
  args: Record<string, ArgDef>;
}

async function node(cmd: CommandDef): Promise<Node> {
  const subs = (await resolve(cmd.subCommands)) ?? {};
  const subCommands: Record<string, CommandDef> = {};
  for (const [name, sub] of Object.entries(subs)) {
    const def = (await resolve(sub)) as CommandDef;
    const meta = await resolve(def.meta);
    if (!meta?.hidden) subCommands[name] = def;
  }
  return { subCommands, args: ((await resolve(cmd.args)) ?? {}) as Record<string, ArgDef> };
}

/** Flags and positionals whose values are host names. */
const takesHost = (name: string) => name === "host" || name === "hosts";

/**
 * Candidates for the last word of `words` (the words after `pmon`, the last one possibly empty).
 * `hosts` is asked only when a host name fits there.
 */
export async function complete(root: CommandDef, words: string[], hosts: () => Promise<string[]>): Promise<string[]> {
  let current = await node(root);
  const partial = words.at(-1) ?? "";
  const done = words.slice(0, -1);
  let i = 0;
  while (i < done.length && current.subCommands[done[i]!]) current = await node(current.subCommands[done[i++]!]!);
  const prev = done.at(-1);
  const byPrefix = (xs: string[]) => xs.filter((x) => x.startsWith(partial));

  // the value of a flag: enum options, host names, or nothing (the shell falls back to files)
  if (prev?.startsWith("--") && i < done.length) {
    const name = prev.slice(2);
    const def = current.args[name];
    if (def && def.type !== "boolean" && def.type !== "positional") {
      if (def.type === "enum") return byPrefix(def.options ?? []);
      return takesHost(name) ? byPrefix(await hosts()) : [];
    }
  }
  if (partial.startsWith("-")) {
    return byPrefix(Object.entries(current.args).flatMap(([name, def]) => (def.type === "positional" ? [] : [`--${name}`])).concat("--help"));
  }
  if (Object.keys(current.subCommands).length) return byPrefix(Object.keys(current.subCommands));
  const positional = Object.entries(current.args).find(([, def]) => def.type === "positional");
  return positional && takesHost(positional[0]) ? byPrefix(await hosts()) : [];
}

/** Host names from the configured store, or none if it does not answer within `timeoutMs`. */
export async function storeHostNames(configPath: string | undefined, timeoutMs = 1000): Promise<string[]> {
  const query = (async () => {
    const config = loadConfig(configPath);
    return withStore(config.server, async (db: Db) =>
      (await db.query<{ rshost: string }>("SELECT rshost FROM tb_monitor_host_config WHERE istate >= 0 ORDER BY rshost")).map((r) => r.rshost),
    );
  })().catch(() => [] as string[]);
  const timeout = new Promise<string[]>((r) => setTimeout(() => r([]), timeoutMs).unref());
  return Promise.race([query, timeout]);
}

const SCRIPTS = {
  bash: `# pmon bash completion: source <(pmon completion bash)
_pmon() {
  local IFS=$'\\n'
  COMPREPLY=($(pmon __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  [ \${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- "\${COMP_WORDS[COMP_CWORD]}"))
  return 0
}
complete -F _pmon pmon
`,
  zsh: `#compdef pmon
# pmon zsh completion: source <(pmon completion zsh), or save as _pmon in a directory of $fpath
_pmon() {
  local -a candidates
  candidates=("\${(@f)$(pmon __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=("\${(@)candidates:#}")
  if (( \${#candidates} )); then compadd -- "\${candidates[@]}"; else _files; fi
}
compdef _pmon pmon
`,
  fish: `# pmon fish completion: pmon completion fish > ~/.config/fish/completions/pmon.fish
function __pmon_complete
  set -l words (commandline -opc) (commandline -ct)
  pmon __complete -- $words[2..-1] 2>/dev/null
end
complete -c pmon -f -a '(__pmon_complete)'
`,
} as const;

export type Shell = keyof typeof SCRIPTS;
export const SHELLS = Object.keys(SCRIPTS) as Shell[];

export function completionScript(shell: Shell): string {
  return SCRIPTS[shell];
}

export const completionCommand = defineCommand({
  meta: { name: "completion", description: "Print the shell completion script (bash, zsh or fish)" },
  args: { shell: { type: "positional", description: "bash | zsh | fish", required: true } },
  run({ args }) {
    const shell = args.shell as Shell;
    if (!SHELLS.includes(shell)) {
      process.stderr.write(`pmon completion: unknown shell "${args.shell}" (expected ${SHELLS.join(", ")})\n`);
      process.exitCode = 2;
      return;
    }
    stdout().write(completionScript(shell));
  },
});

/**
 * What the scripts call: `pmon __complete -- WORD... PARTIAL` prints one candidate a line. main.ts runs it
 * before citty parses anything, so words such as --help are completed, not obeyed.
 */
export async function printCompletions(root: CommandDef, argv: string[]): Promise<void> {
  const words = argv[0] === "--" ? argv.slice(1) : argv;
  const config = words.indexOf("--config");
  const configPath = config >= 0 && config + 1 < words.length - 1 ? words[config + 1] : undefined;
  const out = await complete(root, words.length ? words : [""], () => storeHostNames(configPath));
  if (out.length) stdout().write(out.join("\n") + "\n");
}
