// docs/protocol.md lists every report field with the limits the code enforces.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderFieldTable } from "../../helpers/protocol-doc.ts";

test("the field table in docs/protocol.md is the one the report table renders", () => {
  const doc = readFileSync(join(import.meta.dir, "../../../docs/protocol.md"), "utf8");
  const m = /<!-- fields:[^>]*-->\n([\s\S]*?)\n<!-- \/fields -->/.exec(doc);
  expect(m).not.toBeNull();
  expect(m![1]! + "\n").toBe(renderFieldTable());
});
