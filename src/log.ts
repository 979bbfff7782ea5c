// The one logger factory. Off a terminal (the agent under systemd, journald, log files, CI, tests) lines are
// written by the small logger below; on a terminal consola formats them. consola and node:util are loaded
// only when needed: importing them costs every start some 8 ms of CPU and 15 MB of resident memory, which
// the agent (a start per `pmon agent --once`, and a resident process on every host) should not pay.
import type { ConsolaInstance, ConsolaOptions } from "consola";
import { isDirectStderr, stderr, type OutputTarget } from "./util/output.ts";

/** What every logger offers; consola's instances have it too (tests may pass one). */
export interface Logger {
  /** the level messages must be at or below to be written (error 0 ... trace 5, silent -999) */
  level: number;
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  success(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  trace(...args: unknown[]): void;
  /** the same logger with "[tag]" on each line ("parent:tag" under a tagged logger) */
  withTag(tag: string): Logger;
  /** replaces where the lines go (tests capture them) */
  setReporters(reporters: LogReporter[]): void;
}

/** One message, as a reporter gets it (the shape of consola's LogObject, as far as pmon uses it). */
export interface LogObject {
  type: string;
  level: number;
  tag: string;
  args: unknown[];
  date: Date;
}

export interface LogReporter {
  log(obj: LogObject): void;
}

const LEVELS: Record<string, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };
const TYPE_LEVELS = { error: 0, warn: 1, log: 2, info: 3, success: 3, debug: 4, trace: 5 } as const;

export type LogTarget = OutputTarget;

/**
 * How log lines are stamped where stderr is not a terminal: journald adds its own time (it sets
 * JOURNAL_STREAM for the services it runs), log files and pipes need one in every line.
 */
export function stampLines(env: Record<string, string | undefined> = process.env): boolean {
  return !env.JOURNAL_STREAM;
}

/** The message text: a lone string as it is (the usual case), anything else as console.log would print it. */
function formatArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === "string") return args[0];
  if (args.length === 1 && args[0] instanceof Error) return args[0].stack ?? args[0].message;
  const { formatWithOptions } = require("node:util") as typeof import("node:util");
  return formatWithOptions({ colors: false }, ...args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : a)));
}

/** One line per message line: "2026-11-25T12:00:00.123Z [warn] [tag] text" (time left out under journald). */
export function plainReporter(out: LogTarget, stamp: boolean): LogReporter {
  return {
    log(obj: LogObject) {
      const head = `${stamp ? `${obj.date.toISOString()} ` : ""}[${obj.type}]${obj.tag ? ` [${obj.tag}]` : ""}`;
      const text = formatArgs(obj.args);
      out.write(text.includes("\n") ? text.split("\n").map((line) => `${head} ${line}\n`).join("") : `${head} ${text}\n`);
    },
  };
}

/** Level and reporters are shared by a logger and its tagged children. */
interface Shared {
  level: number;
  reporters: LogReporter[];
}

class PlainLogger implements Logger {
  constructor(
    private readonly shared: Shared,
    private readonly tag: string,
  ) {}

  get level(): number {
    return this.shared.level;
  }
  set level(n: number) {
    this.shared.level = n;
  }

  private emit(type: keyof typeof TYPE_LEVELS, args: unknown[]): void {
    const level = TYPE_LEVELS[type];
    if (level > this.shared.level) return;
    const obj: LogObject = { type, level, tag: this.tag, args, date: new Date() };
    for (const r of this.shared.reporters) r.log(obj);
  }

  error(...args: unknown[]): void {
    this.emit("error", args);
  }
  warn(...args: unknown[]): void {
    this.emit("warn", args);
  }
  log(...args: unknown[]): void {
    this.emit("log", args);
  }
  info(...args: unknown[]): void {
    this.emit("info", args);
  }
  success(...args: unknown[]): void {
    this.emit("success", args);
  }
  debug(...args: unknown[]): void {
    this.emit("debug", args);
  }
  trace(...args: unknown[]): void {
    this.emit("trace", args);
  }
  withTag(tag: string): Logger {
    return new PlainLogger(this.shared, this.tag ? `${this.tag}:${tag}` : tag);
  }
  setReporters(reporters: LogReporter[]): void {
    this.shared.reporters = reporters;
  }
}

/** Everything goes to stderr so stdout stays clean for reports and tables. */
export function createLogger(level = "info", out: LogTarget = stderr(), env: Record<string, string | undefined> = process.env): Logger {
  const n = LEVELS[level] ?? 3;
  if (out.isTTY !== true) return new PlainLogger({ level: n, reporters: [plainReporter(out, stampLines(env))] }, "");
  // a person at a terminal: consola's own format, coloured unless NO_COLOR
  const { createConsola } = require("consola") as typeof import("consola");
  const stream = (isDirectStderr(out) ? process.stderr : out) as NodeJS.WriteStream;
  return createConsola({
    level: n,
    stdout: stream,
    stderr: stream,
    fancy: true,
    formatOptions: { date: true, colors: !env.NO_COLOR },
  } as Partial<ConsolaOptions> & { fancy: boolean }) as ConsolaInstance & Logger; // `fancy` is read by consola but missing from its types
}
