// Every value is checked against its column's type (src/store/schema.ts) before it is written, so a
// value the database would refuse becomes a clear "field X does not fit" instead of a failed batch
// and a driver's error text. The protocol's limits already keep honest reports inside these; this is
// the store's own guard.
import { COLUMN_TYPES } from "./schema.ts";

/** A value that does not fit its column; `field` is the report field it came from. */
export class ColumnRefusal extends Error {
  override name = "ColumnRefusal";
  constructor(
    readonly table: string,
    readonly column: string,
    readonly field: string,
    reason: string,
  ) {
    super(`${field} does not fit the store (${table}.${column}: ${reason})`);
  }
}

type Check = (v: unknown) => string | undefined;

const intRange =
  (min: number, max: number): Check =>
  (v) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return `expected a number, got ${String(v)}`;
    if (!Number.isInteger(v)) return `expected an integer, got ${v}`;
    return v < min || v > max ? `${v} is outside ${min}..${max}` : undefined;
  };
const realRange =
  (max: number): Check =>
  (v) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return `expected a finite number, got ${String(v)}`;
    return Math.abs(v) > max ? `${v} is outside ±${max}` : undefined;
  };
const chars =
  (max: number): Check =>
  (v) => {
    if (typeof v !== "string") return `expected text, got ${typeof v}`;
    // varchar(n) counts characters; JS length counts UTF-16 units, so count code points only when needed
    if (v.length <= max) return undefined;
    let n = 0;
    for (const _ of v) if (++n > max) return `longer than ${max} characters`;
    return undefined;
  };
const utf8Bytes =
  (max: number): Check =>
  (v) => {
    if (typeof v !== "string") return `expected text, got ${typeof v}`;
    return v.length * 3 > max && Buffer.byteLength(v) > max ? `longer than ${max} bytes` : undefined;
  };
const datetime: Check = (v) => (typeof v === "string" && /^[1-9]\d{3}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v) ? undefined : `not a DATETIME: ${String(v)}`);
const anything: Check = () => undefined;

/** The check for one column definition, e.g. "int NOT NULL DEFAULT '0'" or "varchar(64) NULL". */
function checkFor(type: string): Check {
  const base = /^(\w+)(?:\((\d+)\))?/.exec(type)!;
  const size = Number(base[2]);
  let check: Check;
  switch (base[1]) {
    case "tinyint":
      check = intRange(-128, 127);
      break;
    case "int":
      check = intRange(-(2 ** 31), 2 ** 31 - 1);
      break;
    case "bigint":
      // doubles round near 2^63: stay one power of two below
      check = intRange(-(2 ** 62), 2 ** 62);
      break;
    case "float":
      check = realRange(3.4e38);
      break;
    case "double":
      check = realRange(Number.MAX_VALUE);
      break;
    case "varchar":
    case "char":
      check = chars(size);
      break;
    case "text":
      check = utf8Bytes(65_535);
      break;
    case "mediumtext":
      check = utf8Bytes(16_777_215);
      break;
    case "datetime":
      check = datetime;
      break;
    case "varbinary":
      check = (v) => (v instanceof Uint8Array ? (v.length > size ? `longer than ${size} bytes` : undefined) : `expected bytes, got ${typeof v}`);
      break;
    default:
      check = anything; // json: built by the server itself
  }
  const nullable = !/NOT NULL/.test(type);
  return (v) => (v === null || v === undefined ? (nullable ? undefined : "must not be empty") : check(v));
}

const checks = new Map<string, Map<string, Check>>();
function columnCheck(table: string, column: string): Check {
  let t = checks.get(table);
  if (!t) checks.set(table, (t = new Map()));
  let c = t.get(column);
  if (!c) {
    const type = COLUMN_TYPES.get(table)?.get(column);
    if (type === undefined) throw new Error(`unknown column ${table}.${column}`);
    c = checkFor(type);
    t.set(column, c);
  }
  return c;
}

/** Throws ColumnRefusal for the first value that would not fit; `fieldOf` names the report field of a column. */
export function checkRows(table: string, columns: readonly string[], rows: readonly unknown[][], fieldOf: (column: string) => string): void {
  const cs = columns.map((col) => columnCheck(table, col));
  for (const row of rows) {
    for (let i = 0; i < cs.length; i++) {
      const why = cs[i]!(row[i]);
      if (why !== undefined) throw new ColumnRefusal(table, columns[i]!, fieldOf(columns[i]!), why);
    }
  }
}
