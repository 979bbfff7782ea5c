import { existsSync, readFileSync } from "node:fs";
import { parse, TomlError } from "smol-toml";
import { didYouMean } from "./suggest.ts";
import { CHANNEL_TYPES, KEYS, SECTIONS, type AlertChannel, type ConfigKey, type KeySpec, type ResolvedConfig } from "./schema.ts";

/** A configuration problem the user must fix; the message names the file, line or key. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export const DEFAULT_CONFIG_PATH = "/etc/pmon/pmon.toml";

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  /** command-line flags, highest precedence, by dotted key */
  overrides?: Partial<Record<ConfigKey, unknown>>;
}

/**
 * Defaults < file < PMON_* environment < flags. `path` undefined means $PMON_CONFIG, then
 * /etc/pmon/pmon.toml when it exists, else defaults alone.
 */
export function loadConfig(path?: string, opts: LoadOptions = {}): ResolvedConfig {
  return resolveConfig(path, opts).config;
}

/** Where a non-default value came from: "FILE:LINE", "environment variable PMON_X" or "option for KEY". */
export type ConfigSources = Map<ConfigKey | "alerts.channels", string>;

/** loadConfig, plus the source of every value that is not the default (for `pmon config check`). */
export function resolveConfig(path?: string, opts: LoadOptions = {}): { config: ResolvedConfig; sources: ConfigSources } {
  const sources: ConfigSources = new Map();
  const env = opts.env ?? process.env;
  const file = path ?? env.PMON_CONFIG ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  const values = new Map<ConfigKey, unknown>();
  for (const key of Object.keys(KEYS) as ConfigKey[]) values.set(key, KEYS[key].default);
  let channels: AlertChannel[] = [];

  if (file !== undefined) {
    const parsed = readToml(file);
    channels = readFileSections(parsed.doc, parsed.text, file, values, sources);
  }
  for (const key of Object.keys(KEYS) as ConfigKey[]) {
    const name = envName(key);
    const raw = env[name];
    if (raw === undefined) continue;
    values.set(key, check(key, fromEnv(key, raw), `environment variable ${name}`));
    sources.set(key, `environment variable ${name}`);
  }
  for (const [key, v] of Object.entries(opts.overrides ?? {})) {
    if (v === undefined) continue;
    if (!(key in KEYS)) throw new ConfigError(`unknown setting "${key}"${didYouMean(key, Object.keys(KEYS), "")}`);
    values.set(key as ConfigKey, check(key as ConfigKey, v, `option for ${key}`));
    sources.set(key as ConfigKey, `command-line option for ${key}`);
  }
  return { config: build(values, channels, file), sources };
}

/** PMON_AGENT_INTERVAL_S for agent.interval_s */
export function envName(key: ConfigKey): string {
  return "PMON_" + key.replace(".", "_").toUpperCase();
}

function readToml(file: string): { doc: Record<string, unknown>; text: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${file}: cannot read config file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return { doc: parse(text) as Record<string, unknown>, text };
  } catch (e) {
    if (e instanceof TomlError) {
      const reason = e.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      throw new ConfigError(`${file}:${e.line}:${e.column}: TOML syntax error: ${reason}`);
    }
    throw e;
  }
}

function readFileSections(doc: Record<string, unknown>, text: string, file: string, values: Map<ConfigKey, unknown>, sources: ConfigSources): AlertChannel[] {
  let channels: AlertChannel[] = [];
  for (const [section, body] of Object.entries(doc)) {
    if (!(SECTIONS as readonly string[]).includes(section)) {
      throw new ConfigError(`${where(file, text, section)}: unknown section [${section}]${didYouMean(section, SECTIONS, "") || ` (expected one of ${SECTIONS.join(", ")})`}`);
    }
    if (!isTable(body)) throw new ConfigError(`${where(file, text, section)}: "${section}" must be a table ([${section}])`);
    for (const [name, v] of Object.entries(body)) {
      const key = `${section}.${name}`;
      if (key === "alerts.channels") {
        channels = readChannels(v, file, text);
        sources.set("alerts.channels", where(file, text, "alerts", "channels").replace(/:\d+$/, "") + channelLines(text));
        continue;
      }
      if (!(key in KEYS)) {
        const known = [...Object.keys(KEYS).filter((k) => k.startsWith(`${section}.`)).map((k) => k.slice(section.length + 1)), ...(section === "alerts" ? ["channels"] : [])];
        throw new ConfigError(`${where(file, text, section, name)}: unknown key "${key}"${didYouMean(name, known, `${section}.`)}`);
      }
      values.set(key as ConfigKey, check(key as ConfigKey, v, where(file, text, section, name)));
      sources.set(key as ConfigKey, where(file, text, section, name));
    }
  }
  return channels;
}

function readChannels(v: unknown, file: string, text: string): AlertChannel[] {
  if (!Array.isArray(v)) throw new ConfigError(`${where(file, text, "alerts", "channels")}: "alerts.channels" must be an array of tables ([[alerts.channels]])`);
  return v.map((c, i) => {
    const name = `alerts.channels[${i}]`;
    const at = (key?: string) => channelWhere(file, text, i, key);
    if (!isTable(c)) throw new ConfigError(`${at()}: "${name}" must be a table`);
    for (const k of Object.keys(c)) {
      if (!["type", "url", "secret"].includes(k)) throw new ConfigError(`${at(k)}: unknown key "${name}.${k}" (expected type, url, secret)`);
    }
    if (typeof c.type !== "string" || !(CHANNEL_TYPES as readonly string[]).includes(c.type)) {
      throw new ConfigError(`${at("type")}: "${name}.type" must be one of ${CHANNEL_TYPES.join(", ")}, got ${JSON.stringify(c.type)}`);
    }
    if (typeof c.url !== "string" || !/^https?:\/\//.test(c.url)) throw new ConfigError(`${at("url")}: "${name}.url" must be an http(s) URL`);
    if (c.secret !== undefined && typeof c.secret !== "string") throw new ConfigError(`${at("secret")}: "${name}.secret" must be a string`);
    return { type: c.type as AlertChannel["type"], url: c.url, ...(c.secret ? { secret: c.secret as string } : {}) };
  });
}

// Line numbers for messages: smol-toml reports them only for syntax errors, so find the line by name.
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const isHeader = (line: string, section: string) => new RegExp(`^\\s*\\[+\\s*${escape(section)}\\s*\\]`).test(line);
const isKey = (line: string, key: string) => new RegExp(`^\\s*("?)${escape(key)}\\1\\s*=`).test(line);

/** "file:line" of `key` inside [section] (or of the [section] header when key is omitted), else just the file. */
function where(file: string, text: string, section: string, key?: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => isHeader(l, section));
  return lineAfter(file, lines, start, key);
}

/** ":L1,L2" : the lines of the [[alerts.channels]] headers. */
function channelLines(text: string): string {
  const lines = text.split("\n").flatMap((l, n) => (isHeader(l, "alerts.channels") ? [n + 1] : []));
  return lines.length ? `:${lines.join(",")}` : "";
}

/** "file:line" of `key` in the index-th [[alerts.channels]] table (or of its header). */
function channelWhere(file: string, text: string, index: number, key?: string): string {
  const lines = text.split("\n");
  const headers = lines.flatMap((l, n) => (isHeader(l, "alerts.channels") ? [n] : []));
  return lineAfter(file, lines, headers[index] ?? -1, key);
}

function lineAfter(file: string, lines: string[], start: number, key?: string): string {
  if (start < 0) return file;
  if (key === undefined) return `${file}:${start + 1}`;
  for (let n = start + 1; n < lines.length && !/^\s*\[/.test(lines[n]!); n++) {
    if (isKey(lines[n]!, key)) return `${file}:${n + 1}`;
  }
  return `${file}:${start + 1}`;
}

function check(key: ConfigKey, v: unknown, at: string): unknown {
  const spec: KeySpec = KEYS[key];
  const fail = (expected: string): never => {
    throw new ConfigError(`${at}: "${key}" must be ${expected}, got ${JSON.stringify(v)}`);
  };
  switch (spec.type) {
    case "int":
    case "number": {
      const n = typeof v === "bigint" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isFinite(n)) return fail(spec.type === "int" ? "an integer" : "a number");
      if (spec.type === "int" && !Number.isInteger(n)) return fail("an integer");
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        return fail(`between ${spec.min} and ${spec.max}`);
      }
      return n;
    }
    case "string":
      if (typeof v !== "string") return fail("a string");
      if (spec.oneOf && !spec.oneOf.includes(v)) return fail(`one of ${spec.oneOf.map((s) => `"${s}"`).join(", ")}`);
      if (key === "server.storage") checkStorage(v, at);
      return v;
    case "boolean":
      if (typeof v !== "boolean") return fail("true or false");
      return v;
    case "string[]":
      if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) return fail("an array of strings");
      return v;
  }
}

/**
 * The storage schemes pmon can open, checked with the rest of the config so that `postgres://...`
 * stops every command (exit 2) before a server creates a data directory or a secret.
 */
function checkStorage(url: string, at: string): void {
  const u = url.trim();
  if (u === "" || u.startsWith("mysql://") || (u.startsWith("sqlite:") && u.length > "sqlite:".length)) return;
  const shown = u.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@"); // never echo a password
  throw new ConfigError(`${at}: "server.storage" must be mysql://user:password@host:port/db or sqlite:PATH, got "${shown}"`);
}

function fromEnv(key: ConfigKey, raw: string): unknown {
  switch ((KEYS[key] as KeySpec).type) {
    case "int":
    case "number": {
      // "abc" stays text so the error shows what was given (Number("abc") is NaN, printed as null)
      const n = Number(raw);
      return raw.trim() !== "" && Number.isFinite(n) ? n : raw;
    }
    case "boolean":
      return raw === "true" || raw === "1" ? true : raw === "false" || raw === "0" ? false : raw;
    case "string[]":
      return raw.trim() === "" ? [] : raw.split(",").map((s) => s.trim());
    default:
      return raw;
  }
}

function build(values: Map<ConfigKey, unknown>, channels: AlertChannel[], source: string | undefined): ResolvedConfig {
  const out: Record<string, Record<string, unknown>> = {};
  for (const s of SECTIONS) out[s] = {};
  for (const [key, v] of values) {
    const [section, name] = key.split(".") as [string, string];
    out[section]![name] = Array.isArray(v) ? [...v] : v;
  }
  out.alerts!.channels = channels;
  return { ...(out as unknown as ResolvedConfig), source };
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}
