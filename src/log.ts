import { createConsola, type ConsolaInstance, type ConsolaOptions, type ConsolaReporter, type LogObject } from "consola";
import { formatWithOptions } from "node:util";

export type Logger = ConsolaInstance;

const LEVELS: Record<string, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

export interface LogTarget {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * How log lines are stamped where stderr is not a terminal: journald adds its own time (it sets
 * JOURNAL_STREAM for the services it runs), log files and pipes need one in every line.
 */
export function stampLines(env: Record<string, string | undefined> = process.env): boolean {
  return !env.JOURNAL_STREAM;
}

/** One line per message line: "2026-11-25T12:00:00.123Z [warn] [tag] text" (time left out under journald). */
export function plainReporter(out: LogTarget, stamp: boolean): ConsolaReporter {
  return {
    log(obj: LogObject) {
      const text = formatWithOptions({ colors: false }, ...obj.args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : a)));
      const head = [stamp ? new Date(obj.date).toISOString() : "", `[${obj.type}]`, obj.tag ? `[${obj.tag}]` : ""].filter(Boolean).join(" ");
      out.write(
        String(text)
          .split("\n")
          .map((line) => `${head} ${line}\n`)
          .join(""),
      );
    },
  };
}

/** The one logger factory: everything goes to stderr so stdout stays clean for reports and tables. */
export function createLogger(level = "info", out: LogTarget = process.stderr, env: Record<string, string | undefined> = process.env): Logger {
  const tty = out.isTTY === true;
  const colour = tty && !env.NO_COLOR;
  return createConsola({
    level: LEVELS[level] ?? 3,
    stdout: out as NodeJS.WriteStream,
    stderr: out as NodeJS.WriteStream,
    // On a terminal consola's own format; elsewhere (journald, log files, CI, tests) plain stamped lines.
    ...(tty ? {} : { reporters: [plainReporter(out, stampLines(env))] }),
    fancy: tty,
    formatOptions: { date: true, colors: colour },
  } as Partial<ConsolaOptions> & { fancy: boolean }); // `fancy` is read by consola but missing from its types
}
