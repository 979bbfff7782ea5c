// The whole command line as a function: `runCommand(argv)` parses argv, runs the subcommand and returns
// its exit code. The binary's main.ts calls it; tests call it in-process. Importing it runs nothing.
import { stdout } from "../util/output.ts";
import { defineCommand, renderUsage, runCommand as runCitty, type ArgsDef, type CommandDef } from "citty";
import { COMMIT, VERSION } from "../version.ts";
import { EXAMPLES } from "./_examples.ts";
import { EXIT } from "./exit-codes.ts";
import { checkArgv, UsageError } from "./strict-args.ts";
import { reportInternalError } from "./_internal-error.ts";

const subCommands = {
  server: () => import("./server.ts").then((m) => m.default),
  agent: () => import("./agent.ts").then((m) => m.default),
  enroll: () => import("./enroll.ts").then((m) => m.default),
  remove: () => import("./remove.ts").then((m) => m.default),
  rollback: () => import("./rollback.ts").then((m) => m.default),
  status: () => import("./status.ts").then((m) => m.default),
  top: () => import("./top.ts").then((m) => m.default),
  config: () => import("./config.ts").then((m) => m.default),
  migrate: () => import("./migrate.ts").then((m) => m.default),
  completion: () => import("./completion.ts").then((m) => m.completionCommand),
  supervise: () => import("./supervise.ts").then((m) => m.default),
};

const main = defineCommand({
  meta: {
    name: "pmon",
    version: `${VERSION} (${COMMIT})`,
    description: "Fleet-wide, process-level resource monitor: which process used the CPU, memory, disk IO or network, and when",
  },
  subCommands,
});

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");

/** citty's usage text plus the command's examples; plain (no colour codes) into pipes or with NO_COLOR. */
async function showUsage<T extends ArgsDef = ArgsDef>(cmd: CommandDef<T>, parent?: CommandDef<T>): Promise<void> {
  const meta = typeof cmd.meta === "function" ? await cmd.meta() : await cmd.meta;
  const examples = EXAMPLES[meta?.name ?? ""] ?? [];
  const text = (await renderUsage(cmd, parent)) + (examples.length ? `\nEXAMPLES\n\n${examples.map((e) => `  ${e}`).join("\n")}\n` : "") + "\n\n";
  const plain = process.stdout.isTTY !== true || Boolean(process.env.NO_COLOR);
  stdout().write(plain ? stripAnsi(text) : text);
}

/** The (sub)command `argv` names, and its parent, for --help and usage errors: `config check --help` is check's. */
async function commandOf(argv: readonly string[]): Promise<[CommandDef, CommandDef | undefined]> {
  let cmd = main as CommandDef;
  let parent: CommandDef | undefined;
  for (const word of argv.filter((a) => !a.startsWith("-"))) {
    const subs = (typeof cmd.subCommands === "function" ? await cmd.subCommands() : await cmd.subCommands) as Record<string, unknown> | undefined;
    const sub = subs?.[word];
    if (!sub) break;
    parent = cmd;
    cmd = (typeof sub === "function" ? await (sub as () => Promise<CommandDef>)() : await sub) as CommandDef;
  }
  return [cmd, parent];
}

/**
 * Runs `pmon <argv>` and returns its exit code. Output goes to process.stdout and process.stderr.
 * Commands report their code through process.exitCode; it is read here and put back as it was.
 */
export async function runCommand(argv: string[]): Promise<number> {
  const saved = process.exitCode;
  process.exitCode = 0;
  try {
    // the completion scripts' words are completed, never obeyed (a --help among them included)
    if (argv[0] === "__complete") {
      await (await import("./completion.ts")).printCompletions(main, argv.slice(1));
      return 0;
    }
    if (argv.some((a) => a === "--help" || a === "-h")) {
      await showUsage(...(await commandOf(argv)));
      return 0;
    }
    if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
      stdout().write(`${VERSION} (${COMMIT})\n`);
      return 0;
    }
    // citty ignores flags and words a command does not define: refuse them before anything runs
    await checkArgv(main as CommandDef, argv);
    await runCitty(main, { rawArgs: argv });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`pmon: ${e.message}\nRun \`${e.command} --help\` for the options.\n`);
      return EXIT.USAGE;
    }
    // citty's usage errors (no command, missing argument): the usage, then the reason
    if ((e as Error)?.name === "CLIError") {
      await showUsage(...(await commandOf(argv)));
      process.stderr.write(`${stripAnsi((e as Error).message)}\n`);
      return EXIT.USAGE;
    }
    return reportInternalError(e, argv);
  } finally {
    process.exitCode = saved;
  }
}
