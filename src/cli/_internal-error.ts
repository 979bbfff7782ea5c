// Errors nobody expected (a bug, or a database in a state pmon does not know) end as one line that
// says what happened and what to do, with exit code 4. The stack only at --log-level debug, and never
// the runtime's default error print, which shows lines of the compiled bundle's minified source.
import type { CommandDef, SubCommandsDef } from "citty";
import { createLogger } from "../log.ts";

/** Exit code of an internal error (1 problem found, 2 bad config, 3 agent restart, 4 internal). */
export const EXIT_INTERNAL = 4;

/** --log-level debug|trace on the command line, or PMON_LOG_LEVEL=debug|trace. */
function debugWanted(argv: readonly string[]): boolean {
  const i = argv.findIndex((a) => a === "--log-level" || a.startsWith("--log-level="));
  const level = i < 0 ? process.env.PMON_LOG_LEVEL : argv[i]!.includes("=") ? argv[i]!.split("=")[1] : argv[i + 1];
  return level === "debug" || level === "trace";
}

export function internalError(e: unknown, argv: readonly string[] = process.argv.slice(2)): never {
  const message = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim() || "unknown error";
  const log = createLogger("error");
  const hint = debugWanted(argv)
    ? "please file a bug with this output"
    : "please file a bug with the output of the same command run with --log-level debug";
  log.error(`internal error: ${message} (${hint})`);
  if (debugWanted(argv) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(EXIT_INTERNAL);
}

type Loader = () => Promise<CommandDef<any>>;

/** Wraps each command's run (and its subcommands') so unexpected errors end through internalError. */
export function withInternalErrors(commands: Record<string, Loader>): SubCommandsDef {
  const out: Record<string, Loader> = {};
  for (const [name, load] of Object.entries(commands)) out[name] = () => load().then(wrap);
  return out as SubCommandsDef;
}

function wrap(cmd: CommandDef<any>): CommandDef<any> {
  const run = cmd.run;
  const subCommands = cmd.subCommands;
  return {
    ...cmd,
    ...(run
      ? {
          run: async (ctx) => {
            try {
              return await run(ctx);
            } catch (e) {
              internalError(e, ctx.rawArgs);
            }
          },
        }
      : {}),
    ...(subCommands && typeof subCommands === "object" && !("then" in subCommands)
      ? { subCommands: withInternalErrors(Object.fromEntries(Object.entries(subCommands).map(([k, v]) => [k, async () => (typeof v === "function" ? await (v as Loader)() : await v) as CommandDef<any>]))) }
      : {}),
  };
}
