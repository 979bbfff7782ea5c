// The field table of docs/protocol.md, rendered from the protocol's report table, so the page cannot
// drift from what agent and server enforce (test/unit/protocol/doc.test.ts compares them).
import { REPORT, type Field } from "../../src/protocol/report.ts";

const n = (x: number) => (Number.isInteger(x) && Math.abs(x) >= 2 ** 30 && Math.log2(Math.abs(x)) % 1 === 0 ? `2^${Math.log2(x)}` : x.toLocaleString("en-US"));

function describe(f: Field): [type: string, limits: string] {
  switch (f.kind) {
    case "int":
      return [`integer (${f.unit})`, `${n(f.min)} .. ${n(f.max)}`];
    case "number":
      return [`number (${f.unit})`, `${n(f.min)} .. ${n(f.max)}`];
    case "string":
      return ["string", `≤ ${n(f.maxLength)} characters${f.pattern ? `, ${f.patternName}` : ""}`];
    case "literal":
      return ["constant", String(f.value)];
    case "nullable": {
      const [t, l] = describe(f.of);
      return [`${t} or null`, l];
    }
    case "array":
      return ["list", `≤ ${n(f.maxItems)} items${f.rows ? ", each a row" : ""}`];
    case "map":
      return ["map", `≤ ${f.maxKeys} keys of ≤ ${f.maxKeyLength} characters`];
    case "scalar":
      return ["boolean, number or string", `strings ≤ ${f.maxLength} characters`];
    case "object":
      return ["object", ""];
    case "boolean":
      return ["boolean", ""];
    case "optional": {
      const [t, l] = describe(f.of);
      return [`${t}, optional`, l];
    }
  }
}

export function renderFieldTable(): string {
  const rows: string[] = ["| field | type | limits |", "|---|---|---|"];
  const walk = (f: Field, path: string) => {
    if (path) {
      const [type, limits] = describe(f);
      rows.push(`| \`${path}\` | ${type} | ${limits} |`);
    }
    const outer = f.kind === "optional" ? f.of : f;
    const inner = outer.kind === "array" ? outer.of : outer;
    if (inner.kind === "object") for (const [k, x] of Object.entries(inner.fields as Record<string, Field>)) walk(x, path ? `${path}${outer.kind === "array" ? "[]" : ""}.${k}` : k);
    if (inner.kind === "map") walk(inner.of, `${path}.*`);
  };
  walk(REPORT, "");
  return rows.join("\n") + "\n";
}
