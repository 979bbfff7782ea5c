import type { ArgsDef } from "citty";
import { ConfigError, loadConfig, type LoadOptions } from "../config/load.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import { createLogger, type Logger } from "../log.ts";

/** Arguments every command takes. */
export const commonArgs = {
  config: { type: "string", description: "Config file (default: $PMON_CONFIG, then /etc/pmon/pmon.toml if present)" },
  "log-level": { type: "string", description: "silent|error|warn|info|debug|trace (default from config: info)" },
} as const satisfies ArgsDef;

/** An expected failure: printed as one line, no stack trace; `exitCode` says how the process ends. */
export class UserError extends Error {
  override name = "UserError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface CommandContext {
  config: ResolvedConfig;
  log: Logger;
}

/**
 * Loads the config (file < env < flags), makes the logger and runs `body`. Expected failures end as one
 * line on stderr: exit 2 for a bad config, the UserError's code otherwise. Stacks only at --log-level debug.
 */
export async function runCommand(
  args: { config?: string; "log-level"?: string },
  overrides: LoadOptions["overrides"],
  body: (ctx: CommandContext) => Promise<number | void> | number | void,
): Promise<void> {
  let log = createLogger(args["log-level"] ?? "info");
  try {
    const config = loadConfig(args.config, { overrides: { ...overrides, ...(args["log-level"] ? { "log.level": args["log-level"] } : {}) } });
    log = createLogger(config.log.level);
    const code = await body({ config, log });
    if (typeof code === "number") process.exitCode = code;
  } catch (e) {
    if (e instanceof ConfigError) {
      log.error(e.message);
      process.exitCode = 2;
    } else if (e instanceof UserError) {
      log.error(e.message);
      process.exitCode = e.exitCode;
    } else {
      throw e;
    }
  }
}

/** Drops undefined values so unset flags do not override the config. */
export function definedOnly<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
