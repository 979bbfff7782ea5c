// openStore: the default SQLite location, migration on open, and a clear error for a bad URL.
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/log.ts";
import { openStore, storageUrl } from "../../../src/store/open.ts";
import { LATEST_VERSION, VERSION_TABLE } from "../../../src/store/schema.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";

setDefaultTimeout(60_000);

const log = createLogger("silent");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("openStore", () => {
  test("empty server.storage means SQLite in data_dir, created and migrated", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pmon-open-"));
    dirs.push(dir);
    const dataDir = join(dir, "nested", "data");
    expect(storageUrl({ storage: "", data_dir: dataDir })).toBe(`sqlite:${join(dataDir, "pmon.db")}`);
    expect(storageUrl({ storage: " sqlite:/x.db ", data_dir: dataDir })).toBe("sqlite:/x.db");
    const db = await openStore({ storage: "", data_dir: dataDir }, log);
    try {
      expect(db.dialect).toBe("sqlite");
      expect(existsSync(join(dataDir, "pmon.db"))).toBe(true);
      const rows = await db.query<{ v: number }>(`SELECT MAX(version) AS v FROM ${VERSION_TABLE}`);
      expect(Number(rows[0]!.v)).toBe(LATEST_VERSION);
    } finally {
      await db.close();
    }
  });

  test("a mysql:// URL opens and migrates MariaDB", async () => {
    const m = await testMariaDB("pmon_open");
    const db = await openStore({ storage: m.url, data_dir: "/nonexistent" }, log);
    try {
      expect(db.dialect).toBe("mysql");
      const rows = await db.query<{ v: number }>(`SELECT MAX(version) AS v FROM ${VERSION_TABLE}`);
      expect(Number(rows[0]!.v)).toBe(LATEST_VERSION);
    } finally {
      await db.close();
    }
  });

  test("an unsupported URL is a one-line error without the password", async () => {
    await expect(openStore({ storage: "postgres://u:secret@h/db", data_dir: "/tmp" }, log)).rejects.toThrow(/^unsupported storage URL "postgres:\/\/u:\*\*\*@h\/db"/);
  });
});
