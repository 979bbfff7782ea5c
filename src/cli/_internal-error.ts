// Errors nobody expected (a bug, or a database in a state pmon does not know) end as one line that
// says what happened and what to do, with exit code 4. The stack only at --log-level debug, and never
// the runtime's default error print, which shows lines of the compiled bundle's minified source.
import { createLogger } from "../log.ts";

/** Exit code of an internal error (1 problem found, 2 bad config, 3 agent restart, 4 internal). */
export const EXIT_INTERNAL = 4;

/** --log-level debug|trace on the command line, or PMON_LOG_LEVEL=debug|trace. */
function debugWanted(argv: readonly string[]): boolean {
  const i = argv.findIndex((a) => a === "--log-level" || a.startsWith("--log-level="));
  const level = i < 0 ? process.env.PMON_LOG_LEVEL : argv[i]!.includes("=") ? argv[i]!.split("=")[1] : argv[i + 1];
  return level === "debug" || level === "trace";
}

/** Prints the error as one line (plus the stack at debug level) and returns EXIT_INTERNAL. */
export function reportInternalError(e: unknown, argv: readonly string[]): number {
  const message = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim() || "unknown error";
  const debug = debugWanted(argv);
  const hint = debug ? "please file a bug with this output" : "please file a bug with the output of the same command run with --log-level debug";
  createLogger("error").error(`internal error: ${message} (${hint})`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return EXIT_INTERNAL;
}
