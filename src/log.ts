import { createConsola, type ConsolaInstance } from "consola";

export type Logger = ConsolaInstance;

const LEVELS: Record<string, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

/** The one logger factory: everything goes to stderr so stdout stays clean for reports and tables. */
export function createLogger(level = "info"): Logger {
  return createConsola({
    level: LEVELS[level] ?? 3,
    stdout: process.stderr,
    stderr: process.stderr,
    formatOptions: { date: true, colors: process.stderr.isTTY === true },
  });
}
