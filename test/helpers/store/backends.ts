// The two store backends every store test runs against: a real MariaDB (fresh database per call)
// and SQLite in a temp file. Use with describe.each(BACKENDS).
import { afterAll, afterEach, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, type Db } from "../../../src/store/db.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { testMariaDB } from "../mariadb.ts";

export interface Backend {
  name: "mariadb" | "sqlite";
  /** a fresh empty database */
  open(): Promise<{ db: Db; url: string; cleanup(): Promise<void> }>;
}

export const BACKENDS: Backend[] = [
  {
    name: "sqlite",
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "pmon-store-"));
      const url = `sqlite:${join(dir, "pmon.db")}`;
      const db = openDb(url);
      return {
        db,
        url,
        async cleanup() {
          await db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "mariadb",
    async open() {
      const m = await testMariaDB("pmon_store");
      const db = openDb(m.url);
      return { db, url: m.url, cleanup: () => db.close() };
    },
  },
];

/** A fresh database with the schema applied. */
export async function openMigrated(b: Backend) {
  const h = await b.open();
  await migrate(h.db);
  return h;
}

/** One migrated database shared by the tests of a describe block: handed to `use` before them, closed after them. */
export function openMigratedForSuite(b: Backend, use: (h: { db: Db; url: string }) => void): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const h = await openMigrated(b);
    cleanup = h.cleanup;
    use(h);
  });
  afterAll(() => cleanup?.());
}

/** Migrated in-memory SQLite stores, each closed after its test: for logic above the store that needs no file or MariaDB. */
export function memoryStoresPerTest(): () => Promise<Db> {
  const dbs: Db[] = [];
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.close();
  });
  return async () => {
    const db = openDb("sqlite::memory:");
    await migrate(db);
    dbs.push(db);
    return db;
  };
}

/** JSON columns come back as text (SQLite, MariaDB) or parsed (MySQL json type). */
export function json(v: unknown): any {
  return typeof v === "string" ? JSON.parse(v) : v;
}
