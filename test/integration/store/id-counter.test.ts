// Partition maintenance while reports are written (MariaDB): an ALTER ... REORGANIZE PARTITION that
// splits rows off pmax takes the table's next id when it opens the table, then waits for running
// transactions; ids those commit meanwhile are in the moved rows but not in the new counter, and
// every later insert fails with a duplicate primary key (id, a_time). The writes repair the counter.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import mysql from "mysql2/promise";
import { openDb, sqlTime, type Db } from "../../../src/store/db.ts";
import { idCounterBehind, resyncIdCounter } from "../../../src/store/id-counter.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { writeReports } from "../../../src/store/reports.ts";
import { preparePartitions, runRetention } from "../../../src/store/retention.ts";
import { TIME_SERIES_TABLES } from "../../../src/store/schema.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { validReport } from "../../helpers/server/fixtures.ts";

// DDL on a shared 2-core machine can take seconds; never assert timings here.
setDefaultTimeout(60_000);

async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await cond()) return;
    await Bun.sleep(50);
  }
  throw new Error("timed out waiting for the ALTER to wait for the other transaction");
}

async function freshDb(): Promise<Db> {
  const m = await testMariaDB("pmon_idcounter");
  const db = openDb(m.url);
  await migrate(db);
  return db;
}

const count = async (db: Db, table: string) => Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);

describe("id counters of the time-series tables (mariadb)", () => {
  test("a report written after retention split rows off pmax while another writer was inserting is stored", async () => {
    const m = await testMariaDB("pmon_idcounter");
    const db = openDb(m.url);
    await migrate(db);
    const other = await mysql.createConnection({ socketPath: m.socket, user: "root", database: m.database });
    try {
      // one sample second for everything: the primary key is (id, a_time)
      const t = Math.floor(Date.now() / 1000) * 1000;
      const report = (id: string) => ({ report: validReport("h", id, t), receivedAt: t });
      // a new database: no daily partition yet, so the first report lands in pmax
      await writeReports(db, [report("first")]);
      // another writer (another server, or a batch of this one) is inside its transaction ...
      const hostRow = () => other.query("INSERT INTO tb_monitor_host_info (rshost, a_time) VALUES ('other', ?)", [sqlTime(t)]);
      await other.beginTransaction();
      await hostRow();
      // ... when retention splits today off pmax: the ALTER opens the table, then waits for that transaction
      const retention = runRetention(db, t, 30);
      await waitFor(async () => (await db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for table metadata lock' AND INFO LIKE 'ALTER TABLE tb_monitor_host_info%'")).length > 0);
      await hostRow();
      await other.commit();
      await retention;
      // without the repair, the table hands out the id of the row committed meanwhile, for every later report
      expect(await writeReports(db, [report("second")])).toEqual(["stored"]);
      expect(await writeReports(db, [report("third")])).toEqual(["stored"]);
      expect(await count(db, "tb_monitor_host_info")).toBe(5);
      expect(await count(db, "tb_monitor_process_io_info")).toBe(9);
    } finally {
      await other.end();
      await db.close();
    }
  });

  test("resyncIdCounter moves the counter past the highest id; only duplicate primary keys of time-series tables count", async () => {
    const db = await freshDb();
    try {
      await writeReports(db, [{ report: validReport("h", "a"), receivedAt: Date.now() }]);
      expect(await resyncIdCounter(db, "tb_monitor_process_io_info")).toBe(4);
      await writeReports(db, [{ report: validReport("h", "b"), receivedAt: Date.now() }]);
      expect((await db.query<{ id: number }>("SELECT id FROM tb_monitor_process_io_info ORDER BY id")).map((r) => Number(r.id))).toEqual([1, 2, 3, 4, 5, 6]);
      await expect(resyncIdCounter(db, "tb_monitor_report_seen")).rejects.toThrow("not a time-series table");

      // a real duplicate primary key from MariaDB, on a time-series table and on the dedupe table
      const dup = await db.exec("INSERT INTO tb_monitor_host_info (id, rshost, a_time) SELECT id, rshost, a_time FROM tb_monitor_host_info LIMIT 1").catch((e) => e);
      expect(idCounterBehind("tb_monitor_host_info", dup)?.table).toBe("tb_monitor_host_info");
      const seen = await db.exec("INSERT INTO tb_monitor_report_seen (rshost, report_id, a_time) SELECT rshost, report_id, a_time FROM tb_monitor_report_seen LIMIT 1").catch((e) => e);
      expect(idCounterBehind("tb_monitor_report_seen", seen)).toBeUndefined();
      expect(idCounterBehind("tb_monitor_host_info", new Error("other"))).toBeUndefined();
    } finally {
      await db.close();
    }
  });

  test("preparePartitions splits today's partitions off pmax before any report, once", async () => {
    const db = await freshDb();
    try {
      const created = await preparePartitions(db, Date.now());
      expect(created.length).toBe(TIME_SERIES_TABLES.length * 4);
      expect(await preparePartitions(db, Date.now())).toEqual([]);
      // nothing left for the first retention pass to split
      expect((await runRetention(db, Date.now(), 30)).created).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
