import type { ArgsDef } from "citty";
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig, type LoadOptions } from "../config/load.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import { createLogger, type Logger } from "../log.ts";
import { EXIT } from "./exit-codes.ts";
import { UsageError } from "./strict-args.ts";

/** Arguments every command takes. */
export const commonArgs = {
  config: { type: "string", description: "Config file (default: $PMON_CONFIG, then /etc/pmon/pmon.toml if present)" },
  "log-level": { type: "string", description: "silent|error|warn|info|debug|trace (default from config: info)" },
} as const satisfies ArgsDef;

/** Where the server's store is, for commands that use it directly (server, enroll, remove). */
export const storeArgs = {
  storage: { type: "string", description: "mysql://user:pass@host:port/db or sqlite:PATH (server.storage)" },
  "data-dir": { type: "string", description: "server.data_dir (where the default SQLite store and operator secret live)" },
} as const satisfies ArgsDef;

/** How to reach hosts over ssh (enroll, remove). */
export const sshArgs = {
  "ssh-user": { type: "string", description: "ssh user (deploy.ssh_user, default root)" },
  "ssh-port": { type: "string", description: "ssh port (deploy.ssh_port, default 22)" },
  identity: { type: "string", description: "ssh private key file (deploy.identity)" },
  "known-hosts": { type: "string", description: "known_hosts file (deploy.known_hosts)" },
  "install-dir": { type: "string", description: "Where the agent lives on the hosts (deploy.install_dir, default /opt/pmon)" },
} as const satisfies ArgsDef;

/** "22" → 22; anything else stays a string so the config check names what was given. */
export const asNumber = (v: string | undefined) => (v === undefined ? undefined : /^\d+$/.test(v.trim()) ? Number(v) : v);

/** Config overrides from storeArgs and sshArgs flags that were given. */
export function storeAndSshOverrides(args: { storage?: string; "data-dir"?: string; "ssh-user"?: string; "ssh-port"?: string; identity?: string; "known-hosts"?: string; "install-dir"?: string }) {
  return definedOnly({
    "server.storage": args.storage,
    "server.data_dir": args["data-dir"],
    "deploy.ssh_user": args["ssh-user"],
    "deploy.ssh_port": asNumber(args["ssh-port"]),
    "deploy.identity": args.identity,
    "deploy.known_hosts": args["known-hosts"],
    "deploy.install_dir": args["install-dir"],
  });
}

/** An expected failure: printed as one line, no stack trace; `exitCode` (see EXIT) says how the process ends. */
export class UserError extends Error {
  override name = "UserError";
  constructor(
    message: string,
    readonly exitCode: number = EXIT.BAD_NEWS,
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
 * line on stderr: exit 2 for a bad config or usage, the UserError's code otherwise. When no config file
 * was read, failures say where one was looked for and how to pass one.
 */
export async function runWithConfig(
  args: { config?: string; "log-level"?: string },
  overrides: LoadOptions["overrides"],
  body: (ctx: CommandContext) => Promise<number | void> | number | void,
): Promise<void> {
  let log = createLogger(args["log-level"] ?? "info");
  let source: string | undefined = args.config ?? process.env.PMON_CONFIG;
  try {
    const config = loadConfig(args.config, { overrides: { ...overrides, ...(args["log-level"] ? { "log.level": args["log-level"] } : {}) } });
    source = config.source;
    log = createLogger(config.log.level);
    const code = await body({ config, log });
    if (typeof code === "number") process.exitCode = code;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      log.error(e.message);
      process.exitCode = EXIT.USAGE;
    } else if (e instanceof UserError) {
      log.error(e.message + (source === undefined && e.exitCode !== EXIT.BAD_NEWS ? ` ${noConfigHint()}` : ""));
      process.exitCode = e.exitCode;
    } else {
      throw e;
    }
  }
}

/** What to say when a command failed on defaults alone: which files were looked for, how to pass one. */
export function noConfigHint(): string {
  return `(no config file was read: PMON_CONFIG is not set and ${DEFAULT_CONFIG_PATH} does not exist, so the defaults were used; pass one with --config FILE or PMON_CONFIG=FILE)`;
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function wantColour(): boolean {
  return process.stdout.isTTY === true && !process.env.NO_COLOR;
}

/** Drops undefined values so unset flags do not override the config. */
export function definedOnly<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
