// Every repository file that the config template, the code's comments or the docs point readers at
// exists: a comment sending an operator to a page that is not there is a silent wrong answer too.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "../../..");
const PATH_RE = /\b(?:docs|conf|init|scripts|test|src|bench)\/[A-Za-z0-9_./-]+\.(?:md|toml|ts|sh|service|json|sql)\b/g;

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else yield p;
  }
}

test("every file named in conf/, src/, init/, docs/ and README.md exists", () => {
  const sources = [...["conf", "src", "init", "docs"].flatMap((d) => [...files(join(ROOT, d))]), join(ROOT, "README.md")];
  const missing: string[] = [];
  let named = 0;
  for (const file of sources) {
    if (!statSync(file).isFile()) continue;
    for (const m of readFileSync(file, "utf8").matchAll(PATH_RE)) {
      named++;
      if (!existsSync(join(ROOT, m[0]))) missing.push(`${relative(ROOT, file)} names ${m[0]}`);
    }
  }
  expect(named).toBeGreaterThan(10); // the scan found the references it is meant to check
  expect([...new Set(missing)]).toEqual([]);
});
