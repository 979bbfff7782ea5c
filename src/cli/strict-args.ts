// Checks a command line against the commands' citty argument definitions before anything runs: citty
// itself ignores unknown flags and extra words, so `top --limt 2` would quietly print 10 rows.
// One check for every command; a positional whose valueHint ends in "..." takes one or more words.
import type { ArgsDef, CommandDef, Resolvable } from "citty";
import { didYouMean } from "../config/suggest.ts";

/** A command line that does not fit the command; the message names the word (exit 2). */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    message: string,
    /** the words of the command whose --help lists what it takes ("pmon top") */
    readonly command = "pmon",
  ) {
    super(message);
  }
}

// citty's Resolvable: a value, a promise, or a function returning either
const resolve = async <T>(v: Resolvable<T> | undefined): Promise<T | undefined> =>
  (typeof v === "function" ? await (v as () => T | Promise<T>)() : await (v as T | Promise<T> | undefined)) as T | undefined;

/**
 * Walks `argv` down the subcommands of `root` and throws a UsageError for an unknown flag, a flag
 * without its value, an unknown subcommand or a word the command does not take. Returns the words of
 * the command that runs (["top"], ["config", "check"]).
 */
export async function checkArgv(root: CommandDef, argv: readonly string[]): Promise<string[]> {
  let cmd: CommandDef = root;
  const path: string[] = [];
  let rest = [...argv];
  for (;;) {
    const args = (await resolve(cmd.args)) ?? {};
    const subs = (await resolve(cmd.subCommands)) as Record<string, unknown> | undefined;
    const command = ["pmon", ...path].join(" ");
    const hasSubs = subs !== undefined && Object.keys(subs).length > 0;
    const { positionals, nextIndex } = scanFlags(args, rest, command, hasSubs);
    if (hasSubs && nextIndex !== undefined) {
      const name = rest[nextIndex]!;
      if (!(name in subs)) {
        const visible = await visibleNames(subs);
        throw new UsageError(`unknown command "${name}" for "${command}"${didYouMean(name, visible, "")}`, command);
      }
      cmd = (await resolve(subs[name] as Resolvable<CommandDef>))!;
      path.push(name);
      rest = rest.slice(nextIndex + 1);
      continue;
    }
    checkPositionals(args, positionals, command);
    return path;
  }
}

/**
 * Checks every flag of one command's words. When the command has subcommands, stops at the first
 * positional word (the subcommand's name) and returns its index.
 */
function scanFlags(args: ArgsDef, words: string[], command: string, hasSubs: boolean): { positionals: string[]; nextIndex?: number } {
  const positionals: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--") {
      positionals.push(...words.slice(i + 1));
      break;
    }
    if (!w.startsWith("-") || w === "-") {
      if (hasSubs) return { positionals, nextIndex: i };
      positionals.push(w);
      continue;
    }
    const [flag, inlineValue] = splitFlag(w);
    const def = findFlag(args, flag);
    if (!def) throw new UsageError(`unknown option ${w.split("=")[0]} for "${command}"${didYouMean(flag, flagNames(args), "--")}`, command);
    if (def.negated) {
      if (inlineValue !== undefined) throw new UsageError(`${w.split("=")[0]} takes no value`, command);
      continue;
    }
    if (def.type === "boolean") {
      if (inlineValue !== undefined && !["true", "false"].includes(inlineValue)) throw new UsageError(`--${flag} is a switch: give it alone, not "${w}"`, command);
      continue;
    }
    if (inlineValue === undefined) {
      if (i + 1 >= words.length) throw new UsageError(`--${flag} needs a value`, command);
      i++; // the value, even when it starts with "-" ("-3h")
    }
  }
  return { positionals };
}

function checkPositionals(args: ArgsDef, positionals: string[], command: string): void {
  const defs = Object.entries(args).filter(([, d]) => d.type === "positional");
  const many = defs.some(([, d]) => typeof d.valueHint === "string" && d.valueHint.endsWith("..."));
  if (many || positionals.length <= defs.length) return;
  const extra = positionals.slice(defs.length);
  const takes = defs.length === 0 ? "takes no arguments" : `takes ${defs.map(([n]) => n.toUpperCase()).join(" ")} only`;
  throw new UsageError(`unexpected argument${extra.length > 1 ? "s" : ""} ${extra.map((e) => `"${e}"`).join(" ")}: "${command}" ${takes}`, command);
}

/** "--limit=3" → ["limit", "3"]; "-h" → ["h", undefined] */
function splitFlag(w: string): [string, string | undefined] {
  const body = w.replace(/^--?/, "");
  const eq = body.indexOf("=");
  return eq < 0 ? [body, undefined] : [body.slice(0, eq), body.slice(eq + 1)];
}

interface FoundFlag {
  type: string;
  negated: boolean;
}

function findFlag(args: ArgsDef, flag: string): FoundFlag | undefined {
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    const alias = (def as { alias?: string | string[] }).alias;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    if (flag === name || aliases.includes(flag)) return { type: def.type ?? "string", negated: false };
    // citty reads --no-X as X=false for every switch
    if (def.type === "boolean" && (flag === `no-${name}` || aliases.some((a) => flag === `no-${a}`))) return { type: "boolean", negated: true };
  }
  return undefined;
}

function flagNames(args: ArgsDef): string[] {
  return Object.entries(args).flatMap(([name, d]) => (d.type === "positional" ? [] : [name]));
}

async function visibleNames(subs: Record<string, unknown>): Promise<string[]> {
  const names: string[] = [];
  for (const [name, sub] of Object.entries(subs)) {
    const def = await resolve(sub as Resolvable<CommandDef>);
    const meta = await resolve(def?.meta);
    if (!(meta as { hidden?: boolean } | undefined)?.hidden) names.push(name);
  }
  return names;
}
