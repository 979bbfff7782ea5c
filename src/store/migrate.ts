// Applying the schema: the old tool's database is recognised and converged first (legacy.ts), then the
// missing migrations of schema.ts run in order, under a lock so several servers starting together
// migrate once.
import type { Db } from "./db.ts";
import { migrateLegacy, recogniseSchema, UnknownSchemaError, type LegacyOptions, type LegacyResult, type Recognition } from "./legacy.ts";
import { LATEST_VERSION, MIGRATIONS, VERSION_DDL, VERSION_TABLE } from "./schema.ts";

// MySQL errors that mean "this part of a half-applied migration is already there".
const ALREADY_APPLIED = new Set([1050 /* table exists */, 1060 /* duplicate column */, 1061 /* duplicate key name */, 1091 /* can't drop: missing */]);

export interface MigrateResult {
  from: number;
  to: number;
  applied: number[];
  /** set when the database held the old tool's tables and they were migrated in place (legacy.ts) */
  legacy?: { found: Recognition; result: LegacyResult };
}

/**
 * Brings the schema to LATEST_VERSION. Idempotent; safe when several servers start at once:
 * MySQL serialises on GET_LOCK per database, SQLite on its single writer (BEGIN IMMEDIATE).
 */
export async function migrate(db: Db, nowMs = Date.now(), opts: LegacyOptions = {}): Promise<MigrateResult> {
  return db.transaction(async (tx) => {
    if (tx.dialect === "mysql") {
      const [lock] = await tx.query<{ ok: number | null }>("SELECT GET_LOCK(CONCAT('pmon_migrate:', DATABASE()), 120) AS ok");
      if (lock?.ok !== 1) throw new Error("could not take the schema migration lock within 120 s (another pmon server is migrating?)");
    }
    try {
      // The old tool's database (or an unknown one) is recognised before anything is created.
      let legacy: MigrateResult["legacy"];
      if (tx.dialect === "mysql") {
        const found = await recogniseSchema(tx, await appliedCount(tx));
        if (found.kind === "legacy") legacy = { found, result: await migrateLegacy(tx, found, nowMs, opts) };
      }
      await tx.exec(VERSION_DDL[tx.dialect]);
      const done = new Set((await tx.query<{ version: number }>(`SELECT version FROM ${VERSION_TABLE}`)).map((r) => Number(r.version)));
      const from = done.size ? Math.max(...done) : 0;
      if (from > LATEST_VERSION) {
        throw new UnknownSchemaError(`the database schema is at version ${from}, newer than this pmon knows (${LATEST_VERSION}): run a newer pmon; nothing was changed`);
      }
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        for (const sql of m[tx.dialect]) await runDdl(tx, sql);
        await tx.exec(`INSERT INTO ${VERSION_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`, [m.version, m.name, sqlTimeOf(nowMs)]);
        applied.push(m.version);
      }
      return { from, to: Math.max(from, ...applied), applied, ...(legacy ? { legacy } : {}) };
    } finally {
      if (tx.dialect === "mysql") await tx.query("SELECT RELEASE_LOCK(CONCAT('pmon_migrate:', DATABASE()))").catch(() => {});
    }
  });
}

/** Rows in the version table; 0 when it does not exist yet (MySQL). */
async function appliedCount(tx: Db): Promise<number> {
  const [t] = await tx.query<{ n: number }>("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", [VERSION_TABLE]);
  if (!Number(t?.n)) return 0;
  const [r] = await tx.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${VERSION_TABLE}`);
  return Number(r?.n ?? 0);
}

async function runDdl(tx: Db, sql: string): Promise<void> {
  try {
    await tx.exec(sql);
  } catch (e) {
    if (tx.dialect === "mysql" && ALREADY_APPLIED.has((e as { errno?: number }).errno ?? 0)) return;
    throw new Error(`schema migration failed: ${(e as Error).message}\n${sql}`, { cause: e });
  }
}

function sqlTimeOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}
