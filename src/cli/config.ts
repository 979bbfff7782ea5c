// `pmon config check`: validate a config without starting anything, like `nginx -t` or `sshd -t`.
import { defineCommand } from "citty";
import { stdout } from "../util/output.ts";
import { Database } from "bun:sqlite";
import { accessSync, constants, existsSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigError, resolveConfig, type ConfigSources } from "../config/load.ts";
import { KEYS, SECTIONS, type AlertChannel, type ConfigKey, type ResolvedConfig } from "../config/schema.ts";
import { openDb, redactUrl } from "../store/db.ts";
import { storageUrl } from "../store/open.ts";
import { commonArgs } from "./_shared.ts";

/** Files that must be readable when their key is set. */
const READABLE_FILES: ConfigKey[] = ["server.tls_cert", "server.tls_key", "deploy.identity"];

export interface Check {
  ok: boolean;
  what: string;
  detail: string;
}

/** The channel URL without its path and query: robot keys live there (WeCom ?key=, DingTalk access_token=). */
export function maskChannelUrl(url: string): string {
  const m = /^(https?:\/\/[^/?#]+)/.exec(url);
  return m ? `${m[1]}/***` : "***";
}

function shown(key: ConfigKey, value: unknown): string {
  if (key === "server.storage" && typeof value === "string") return JSON.stringify(redactUrl(value));
  return JSON.stringify(value);
}

/** The resolved configuration as TOML, every key, each non-default value followed by where it came from. */
export function renderResolved(config: ResolvedConfig, sources: ConfigSources): string {
  const out: string[] = [`# resolved configuration${config.source ? ` (file: ${config.source})` : " (no config file: defaults, environment and options)"}`];
  for (const section of SECTIONS) {
    out.push("", `[${section}]`);
    for (const key of Object.keys(KEYS) as ConfigKey[]) {
      if (!key.startsWith(`${section}.`)) continue;
      const name = key.slice(section.length + 1);
      const value = (config[section] as Record<string, unknown>)[name];
      const from = sources.get(key);
      out.push(`${name} = ${shown(key, value)}${from ? `  # from ${from}` : ""}`);
    }
  }
  for (const c of config.alerts.channels as AlertChannel[]) {
    out.push("", "[[alerts.channels]]", `type = ${JSON.stringify(c.type)}`, `url = ${JSON.stringify(maskChannelUrl(c.url))}`);
    if (c.secret) out.push(`secret = "***"`);
  }
  if (config.alerts.channels.length) out.push(`# channels from ${sources.get("alerts.channels") ?? "?"}`);
  return out.join("\n") + "\n";
}

function readable(path: string): string | null {
  try {
    accessSync(path, constants.R_OK);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

/** What can be checked without side effects; the store is contacted only with `connect`. */
export async function checkConfig(config: ResolvedConfig, connect: boolean): Promise<Check[]> {
  const checks: Check[] = [];
  for (const key of READABLE_FILES) {
    const [section, name] = key.split(".") as [keyof ResolvedConfig, string];
    const path = (config[section] as Record<string, unknown>)[name] as string;
    if (!path) continue;
    const err = readable(path);
    checks.push({ ok: err === null, what: key, detail: err === null ? `${path} is readable` : `${path}: ${err}` });
  }
  if (Boolean(config.server.tls_cert) !== Boolean(config.server.tls_key)) {
    checks.push({ ok: false, what: "server.tls_cert/tls_key", detail: "set both or neither" });
  }
  checks.push(await checkStorage(config, connect));
  return checks;
}

async function checkStorage(config: ResolvedConfig, connect: boolean): Promise<Check> {
  const url = storageUrl(config.server);
  const what = "server.storage";
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length);
    if (path === ":memory:") return { ok: true, what, detail: "in-memory SQLite (nothing is kept)" };
    if (!existsSync(path)) {
      const dir = dirname(path);
      const err = existsSync(dir) ? null : "ENOENT";
      return err === null
        ? { ok: true, what, detail: `${path} does not exist yet; pmon server creates it` }
        : { ok: false, what, detail: `${path}: its directory ${dir} does not exist` };
    }
    if (!connect) return { ok: true, what, detail: `${path} exists (use --connect to open it)` };
    try {
      const db = new Database(path, { readonly: true });
      db.query("SELECT 1").get();
      db.close();
      return { ok: true, what, detail: `${path} opened read-only` };
    } catch (e) {
      return { ok: false, what, detail: `${path}: ${(e as Error).message}` };
    }
  }
  if (!url.startsWith("mysql://")) return { ok: false, what, detail: `unsupported scheme in "${redactUrl(url)}" (expected mysql:// or sqlite:)` };
  if (!connect) return { ok: true, what, detail: `${redactUrl(url)} (use --connect to try it)` };
  const db = openDb(url);
  try {
    await db.query("SELECT 1");
    return { ok: true, what, detail: `${redactUrl(url)} answered` };
  } catch (e) {
    return { ok: false, what, detail: `${redactUrl(url)}: ${(e as Error).message}` };
  } finally {
    await db.close().catch(() => {});
  }
}

const check = defineCommand({
  meta: { name: "check", description: "Validate the configuration, print it resolved (secrets masked) with where each value came from" },
  args: {
    ...commonArgs,
    connect: { type: "boolean", description: "Also connect to the store (SELECT 1); nothing is created or changed" },
    quiet: { type: "boolean", description: "Print only problems" },
  },
  async run({ args }) {
    let resolved: ReturnType<typeof resolveConfig>;
    try {
      resolved = resolveConfig(args.config);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      process.stderr.write(`pmon config check: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    const checks = await checkConfig(resolved.config, Boolean(args.connect));
    if (!args.quiet) stdout().write(renderResolved(resolved.config, resolved.sources) + "\n");
    for (const c of checks) {
      if (!c.ok || !args.quiet) stdout().write(`${c.ok ? "ok  " : "FAIL"} ${c.what}: ${c.detail}\n`);
    }
    const failed = checks.filter((c) => !c.ok).length;
    stdout().write(failed ? `configuration has ${failed} problem(s)\n` : args.quiet ? "" : "configuration ok\n");
    process.exitCode = failed ? 2 : 0;
  },
});

export default defineCommand({
  meta: { name: "config", description: "Check the configuration, or import the old tool's config.ini" },
  subCommands: { check, import: () => import("./config-import.ts").then((m) => m.importCommand) },
});
