// The fast tier stays fast: nothing under test/unit may start a service or need the compiled binary.
// (Tests that do belong in test/integration, which `make test` runs as well.)
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const UNIT = import.meta.dir;
const SERVICE_HELPERS = ["helpers/mariadb.ts", "helpers/binary.ts", "lab/lab.ts", "helpers/server/procs.ts", "helpers/view/live.ts", "helpers/ui/browser.ts"];

function* testFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* testFiles(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

test("unit tests import no helper that starts MariaDB, sshd hosts, network namespaces or the binary", () => {
  const offenders: string[] = [];
  for (const file of testFiles(UNIT)) {
    if (file === import.meta.path) continue;
    const text = readFileSync(file, "utf8");
    for (const helper of SERVICE_HELPERS) {
      if (text.includes(`/${helper}"`)) offenders.push(`${relative(UNIT, file)} imports ${helper}`);
    }
    if (/\b(setpriv|ip netns|unshare)\b/.test(text)) offenders.push(`${relative(UNIT, file)} uses privileges or namespaces`);
  }
  expect(offenders).toEqual([]);
});
