// The import rules of src/: which folder may depend on which. Parsed from the source, so a new import
// that breaks a rule fails here with the file and the import named.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

interface Edge {
  /** importing file, relative to src/ */
  file: string;
  /** imported file, relative to src/ */
  target: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Every relative import of a file: static (`from "..."`, `import "..."`) and dynamic (`import("...")`). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) out.push(m[1]!);
  return out;
}

function edges(): Edge[] {
  return sourceFiles(SRC).flatMap((abs) =>
    importsOf(readFileSync(abs, "utf8"))
      .filter((spec) => spec.startsWith("."))
      .map((spec) => ({ file: relative(SRC, abs), target: relative(SRC, resolve(dirname(abs), spec)) })),
  );
}

/** "net/inet-diag.ts" → "net"; a file directly in src/ (main.ts, log.ts, version.ts) → "". */
const folderOf = (path: string) => (path.includes("/") ? path.split("/")[0]! : "");

function violations(rule: (from: string, to: string, e: Edge) => boolean): string[] {
  return edges()
    .filter((e) => folderOf(e.target) !== folderOf(e.file) && rule(folderOf(e.file), folderOf(e.target), e))
    .map((e) => `${e.file} imports ${e.target}`);
}

describe("architecture", () => {
  test("the import parser sees static, type-only and dynamic imports, and skips comments", () => {
    const text = [
      'import { a } from "../store/db.ts";',
      'import type { B } from "./b.ts";',
      'import "./side-effect.ts";',
      'const m = await import("../cli/server.ts");',
      'export { c } from "../util/c.ts";',
      '// import { no } from "../nope.ts";',
    ].join("\n");
    expect(importsOf(text)).toEqual(["../store/db.ts", "./b.ts", "./side-effect.ts", "../cli/server.ts", "../util/c.ts"]);
  });

  test("src/ has files in every folder the rules name", () => {
    const folders = new Set(sourceFiles(SRC).map((f) => folderOf(relative(SRC, f))));
    for (const f of ["procfs", "net", "protocol", "config", "util", "cli", "view", "store", "server", "fleet"]) expect(folders.has(f)).toBe(true);
  });

  test("util imports no other pmon folder; procfs, net, protocol and config import only util", () => {
    const leaves = new Set(["procfs", "net", "protocol", "config"]);
    expect(violations((from, to) => from === "util" && to !== "")).toEqual([]);
    expect(violations((from, to) => leaves.has(from) && to !== "" && to !== "util")).toEqual([]);
  });

  test("nothing imports cli/ but main.ts", () => {
    expect(violations((_from, to, e) => to === "cli" && e.file !== "main.ts")).toEqual([]);
  });

  test("view/ reads protocol types, not the store", () => {
    expect(violations((from, to) => from === "view" && to === "store")).toEqual([]);
  });

  test("store/ never imports server/", () => {
    expect(violations((from, to) => from === "store" && to === "server")).toEqual([]);
  });

  test("fleet/ imports neither cli/ nor server/", () => {
    expect(violations((from, to) => from === "fleet" && (to === "cli" || to === "server"))).toEqual([]);
  });

  test("deploy/ (ssh and plans) never touches the store", () => {
    expect(violations((from, to) => from === "deploy" && to === "store")).toEqual([]);
  });
});
