// The argv check on command definitions shaped like pmon's: nested subcommands, switches, --no-X,
// values that start with "-", and positionals taking one or many words.
import { describe, expect, test } from "bun:test";
import { defineCommand, type CommandDef } from "citty";
import { checkArgv, UsageError } from "../../../src/cli/strict-args.ts";
import { didYouMean, editDistance } from "../../../src/config/suggest.ts";

const top = defineCommand({ meta: { name: "top" }, args: { at: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" } } });
const enroll = defineCommand({ meta: { name: "enroll" }, args: { host: { type: "positional", valueHint: "HOST...", required: true }, "no-deploy": { type: "boolean" } } });
const check = defineCommand({ meta: { name: "check" }, args: { quiet: { type: "boolean" } } });
const config = defineCommand({ meta: { name: "config" }, subCommands: { check: () => Promise.resolve(check) } });
const root = defineCommand({ meta: { name: "pmon" }, subCommands: { top, enroll, config } }) as CommandDef;

const fails = async (argv: string[]) => {
  try {
    await checkArgv(root, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
};

describe("checkArgv", () => {
  test("accepts what the commands define", async () => {
    expect(await checkArgv(root, ["top", "--at", "-3h", "--limit=5", "--json", "--no-json"])).toEqual(["top"]);
    expect(await checkArgv(root, ["enroll", "h1", "h2", "h3", "--no-deploy"])).toEqual(["enroll"]);
    expect(await checkArgv(root, ["config", "check", "--quiet"])).toEqual(["config", "check"]);
  });

  test("refuses unknown flags, naming the nearest", async () => {
    const e = await fails(["top", "--limt", "2"]);
    expect(e.message).toBe('unknown option --limt for "pmon top" (did you mean --limit?)');
    expect(e.command).toBe("pmon top");
    expect((await fails(["config", "check", "--quite"])).message).toContain("did you mean --quiet?");
    expect((await fails(["top", "--frobnicate"])).message).not.toContain("did you mean");
  });

  test("refuses stray words, unknown commands, missing values and valued switches", async () => {
    expect((await fails(["top", "now"])).message).toBe('unexpected argument "now": "pmon top" takes no arguments');
    expect((await fails(["config", "chek"])).message).toBe('unknown command "chek" for "pmon config" (did you mean check?)');
    expect((await fails(["top", "--at"])).message).toBe("--at needs a value");
    expect((await fails(["top", "--json=yes"])).message).toContain("is a switch");
  });
});

describe("suggestions", () => {
  test("edit distance counts a swap as one edit", () => {
    expect(editDistance("limt", "limit")).toBe(1);
    expect(editDistance("lmiit", "limit")).toBe(1);
    expect(editDistance("abc", "xyz")).toBe(3);
  });
  test("only near misses are suggested", () => {
    expect(didYouMean("stauts", ["status", "top"], "")).toBe(" (did you mean status?)");
    expect(didYouMean("since", ["from", "to", "at"], "--")).toBe("");
  });
});
