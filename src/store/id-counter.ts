// The auto-increment id of the partitioned time-series tables (MySQL family). pmon never writes an id
// itself, so "duplicate entry for key PRIMARY" on one of these tables means the table's id counter
// is behind its own rows. MariaDB gets there through partition maintenance: ALTER TABLE ... REORGANIZE
// PARTITION takes the table's next id when it opens the table, then waits for the transactions
// writing to it; ids they commit meanwhile move with the rows but the reorganized table starts from
// the older value, and a failed insert gives its id back, so every later insert fails the same way.
// Moving the counter past the highest stored id ends it.
import type { Db } from "./db.ts";
import { TIME_SERIES_TABLES } from "./schema.ts";

const ER_DUP_ENTRY = 1062;
const SERIES = new Set<string>(TIME_SERIES_TABLES);

/** A time-series insert was handed an id that is already stored. */
export class IdCounterBehind extends Error {
  override name = "IdCounterBehind";
  constructor(
    readonly table: string,
    cause: unknown,
  ) {
    super(`${table}: the id counter is behind the stored rows (${(cause as Error).message})`, { cause });
  }
}

/** The IdCounterBehind for an INSERT into `table` that failed with `e`, or undefined for any other failure. */
export function idCounterBehind(table: string, e: unknown): IdCounterBehind | undefined {
  const err = e as { errno?: number; message?: string };
  if (!SERIES.has(table) || err?.errno !== ER_DUP_ENTRY || !/for key '(?:\w+\.)?PRIMARY'/.test(String(err.message))) return undefined;
  return new IdCounterBehind(table, e);
}

/** Moves the table's id counter past its highest id (outside any transaction: the ALTER commits). */
export async function resyncIdCounter(db: Db, table: string): Promise<number> {
  if (!SERIES.has(table)) throw new Error(`resyncIdCounter: ${table} is not a time-series table`);
  const [r] = await db.query<{ hi: number | null }>(`SELECT MAX(id) AS hi FROM ${table}`);
  const next = Number(r?.hi ?? 0) + 1;
  // The table name is one of TIME_SERIES_TABLES and next a number; DDL takes no placeholders.
  await db.exec(`ALTER TABLE ${table} AUTO_INCREMENT = ${next}`);
  return next;
}
