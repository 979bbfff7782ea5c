// migrate(): creates every table, is idempotent and safe when two servers start at once; init/init.sql
// is the same schema (checked on MariaDB through information_schema).
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { openDb, type Db } from "../../../src/store/db.ts";
import { LATEST_VERSION, migrate, mysqlInitSql, splitSqlStatements, TABLES, VERSION_TABLE } from "../../../src/store/schema.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { BACKENDS } from "../../helpers/store/backends.ts";

// DDL on a shared 2-core machine can take seconds; never assert timings here.
setDefaultTimeout(60_000);

const INIT_SQL = join(import.meta.dir, "../../../init/init.sql");

async function tableNames(db: Db): Promise<string[]> {
  const rows =
    db.dialect === "mysql"
      ? await db.query<{ name: string }>("SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
      : await db.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  return rows.map((r) => r.name).sort();
}

describe.each(BACKENDS)("migrate on $name", (backend) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  test("creates every table and records the version; a second run is a no-op", async () => {
    const h = await backend.open();
    cleanups.push(h.cleanup);
    expect(await tableNames(h.db)).toEqual([]);
    const first = await migrate(h.db);
    expect(first).toEqual({ from: 0, to: LATEST_VERSION, applied: Array.from({ length: LATEST_VERSION }, (_, i) => i + 1) });
    expect(await tableNames(h.db)).toEqual([...TABLES, VERSION_TABLE].sort());
    for (const t of ["tb_monitor_host_config", "tb_monitor_host_info", "tb_monitor_disk_info", "tb_monitor_disk_util_qu_info", "tb_monitor_port_net_info", "tb_monitor_process_info", "tb_monitor_process_io_info", "tb_monitor_alert_info", "tb_monitor_version"]) {
      expect(TABLES).toContain(t);
    }
    const second = await migrate(h.db);
    expect(second).toEqual({ from: LATEST_VERSION, to: LATEST_VERSION, applied: [] });
    const versions = await h.db.query<{ version: number }>(`SELECT version FROM ${VERSION_TABLE} ORDER BY version`);
    expect(versions.map((v) => Number(v.version))).toEqual(Array.from({ length: LATEST_VERSION }, (_, i) => i + 1));
  });

  test("two server processes migrating the same empty database at once both succeed, once", async () => {
    const h = await backend.open();
    cleanups.push(h.cleanup);
    const child = join(import.meta.dir, "../../helpers/store/migrate-child.ts");
    const run = () => Bun.spawn([process.execPath, child, h.url], { stdout: "pipe", stderr: "pipe" });
    const procs = [run(), run(), run()];
    const results = await Promise.all(
      procs.map(async (p) => {
        const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
        expect({ code, err }).toEqual({ code: 0, err: "" });
        return JSON.parse(out) as { applied: number[] };
      }),
    );
    // exactly one of them applied the migrations, the others found them done
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, LATEST_VERSION]);
    const versions = await h.db.query(`SELECT version FROM ${VERSION_TABLE}`);
    expect(versions.length).toBe(LATEST_VERSION);
  });

  test("legacy columns exist with the names the old dashboard queries", async () => {
    const h = await backend.open();
    cleanups.push(h.cleanup);
    await migrate(h.db);
    const legacy: Record<string, string[]> = {
      tb_monitor_host_config: ["id", "rshost", "istate"],
      tb_monitor_host_info: ["id", "rshost", "cpu_info", "mem_info", "io_info", "net", "a_time"],
      tb_monitor_disk_info: ["id", "rshost", "part", "disk_info", "a_time"],
      tb_monitor_disk_util_qu_info: ["id", "rshost", "dev", "avgqu", "util", "a_time"],
      tb_monitor_port_net_info: ["id", "rshost", "pid", "rsinfo", "remote", "in_info", "out_info", "a_time"],
      tb_monitor_process_info: ["id", "md5_str", "remarks"],
      tb_monitor_process_io_info: ["id", "rshost", "rsport", "pid", "start_time", "user", "instance", "cpu", "mem", "rss_bytes", "io_r", "io_w", "net_in", "net_out", "a_time", "md5_str", "remarks"],
      tb_monitor_alert_info: ["id", "rshost", "kind", "istate", "a_time", "remarks", "since", "sent", "owner"],
      tb_monitor_version: ["id", "version", "a_time"],
    };
    for (const [table, cols] of Object.entries(legacy)) {
      const rows = await h.db.query(`SELECT ${cols.join(", ")} FROM ${table} WHERE 1 = 0`);
      expect(rows).toEqual([]);
    }
  });
});

describe("init/init.sql (MariaDB)", () => {
  test("the committed file is what schema.ts generates", () => {
    if (process.env.UPDATE_INIT_SQL) writeFileSync(INIT_SQL, mysqlInitSql());
    expect(readFileSync(INIT_SQL, "utf8")).toBe(mysqlInitSql());
  });

  test("a database created from init.sql has the same columns, indexes and partitioning as migrate()", async () => {
    const byHand = await testMariaDB("pmon_init");
    const migrated = await testMariaDB("pmon_migrated");
    const root = await mysql.createConnection({ socketPath: byHand.socket, user: "root", database: byHand.database });
    try {
      for (const sql of splitSqlStatements(readFileSync(INIT_SQL, "utf8"))) await root.query(sql);
    } finally {
      await root.end();
    }
    const db = openDb(migrated.url);
    const db2 = openDb(byHand.url);
    try {
      await migrate(db);
      // migrate() on the hand-made database has nothing to do
      expect((await migrate(db2)).applied).toEqual([]);
      const describeSchema = async (schema: string) => {
        const cols = await db.query(
          `SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION, CHARACTER_SET_NAME, COLLATION_NAME
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
          [schema],
        );
        const idx = await db.query(
          `SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS
           WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
          [schema],
        );
        const parts = await db.query(
          `SELECT TABLE_NAME, PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION, PARTITION_DESCRIPTION FROM information_schema.PARTITIONS
           WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION`,
          [schema],
        );
        return { cols, idx, parts };
      };
      const a = await describeSchema(byHand.database);
      const b = await describeSchema(migrated.database);
      expect(a.cols.length).toBeGreaterThan(80);
      expect(a.idx.length).toBeGreaterThan(20);
      expect(a.cols).toEqual(b.cols);
      expect(a.idx).toEqual(b.idx);
      expect(a.parts).toEqual(b.parts);
      // every time-series table has the composite (rshost, a_time) index
      const composite = b.idx.filter((r: any) => r.INDEX_NAME === "idx_rshost_a_time").map((r: any) => `${r.TABLE_NAME}.${r.SEQ_IN_INDEX}.${r.COLUMN_NAME}`);
      expect(composite).toContain("tb_monitor_process_io_info.1.rshost");
      expect(composite).toContain("tb_monitor_process_io_info.2.a_time");
      expect(composite).toContain("tb_monitor_port_net_info.1.rshost");
    } finally {
      await db.close();
      await db2.close();
    }
  });
});
