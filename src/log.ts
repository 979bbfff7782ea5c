import { createConsola, type ConsolaInstance, type ConsolaOptions } from "consola";

export type Logger = ConsolaInstance;

const LEVELS: Record<string, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

/** The one logger factory: everything goes to stderr so stdout stays clean for reports and tables. */
export function createLogger(level = "info"): Logger {
  return createConsola({
    level: LEVELS[level] ?? 3,
    stdout: process.stderr,
    stderr: process.stderr,
    // One format wherever stderr is not a terminal (journald, log files, CI, tests): "[error] message".
    fancy: process.stderr.isTTY === true,
    formatOptions: { date: true, colors: process.stderr.isTTY === true },
  } as Partial<ConsolaOptions> & { fancy: boolean }); // `fancy` is read by consola but missing from its types
}
