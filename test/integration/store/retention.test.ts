// Retention with a fake "now": MariaDB drops whole expired day partitions and keeps DAYS_AHEAD days
// ready; SQLite deletes old rows in batches. Both keep every row younger than the cutoff.
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { sqlTime, type Db } from "../../../src/store/db.ts";
import { insertRows } from "../../../src/store/reports.ts";
import { DAYS_AHEAD, DELETE_BATCH, runRetention } from "../../../src/store/retention.ts";
import { TIME_SERIES_TABLES } from "../../../src/store/schema.ts";
import { BACKENDS, openMigrated } from "../../helpers/store/backends.ts";

// DDL on a shared 2-core machine can take seconds; never assert timings here.
setDefaultTimeout(60_000);

const DAY = 86_400_000;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

async function partitions(db: Db, table: string): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    "SELECT PARTITION_NAME AS name FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY PARTITION_ORDINAL_POSITION",
    [table],
  );
  return rows.map((r) => r.name);
}

async function hostInfoTimes(db: Db): Promise<string[]> {
  return (await db.query<{ a_time: string }>("SELECT a_time FROM tb_monitor_host_info ORDER BY a_time")).map((r) => r.a_time);
}

async function addHostInfo(db: Db, times: number[]): Promise<void> {
  await insertRows(db, { table: "tb_monitor_host_info", columns: ["rshost", "cpu_info", "a_time"], rows: times.map((t) => ["h", '{"total":1}', sqlTime(t)]) });
}

describe.each(BACKENDS)("retention on $name", (backend) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  test("keeps rows younger than the cutoff, removes older ones, also dedupe and finished alerts", async () => {
    const h = await openMigrated(backend);
    cleanups.push(h.cleanup);
    const db = h.db;
    const now1 = day("2026-01-10") + 12 * 3_600_000;
    await addHostInfo(db, [day("2026-01-09") + 3_600_000, day("2026-01-10") + 3_600_000, day("2026-01-13") + 60_000]);
    const r1 = await runRetention(db, now1, 30);
    expect(r1.dropped).toEqual([]);
    expect(await hostInfoTimes(db)).toHaveLength(3);

    // 32 days later with 30 days of retention: the cutoff is 2026-02-11 12:00 - 30 d = 2026-01-12 12:00
    const now2 = day("2026-02-11") + 12 * 3_600_000;
    await insertRows(db, {
      table: "tb_monitor_report_seen",
      columns: ["rshost", "report_id", "a_time"],
      rows: [["h", "old", sqlTime(now2 - 9 * DAY)], ["h", "new", sqlTime(now2 - DAY)]],
    });
    await insertRows(db, {
      table: "tb_monitor_alert_info",
      columns: ["rshost", "kind", "istate", "a_time"],
      rows: [["done", "silent", 0, sqlTime(now2 - 40 * DAY)], ["ongoing", "silent", 3, sqlTime(now2 - 40 * DAY)], ["recent", "silent", 0, sqlTime(now2 - DAY)]],
    });
    await insertRows(db, {
      table: "tb_monitor_process_info",
      columns: ["md5_str", "remarks", "a_time"],
      rows: [["a".repeat(32), "unused for 40 days", sqlTime(now2 - 40 * DAY)], ["b".repeat(32), "used 31 days ago", sqlTime(now2 - 31 * DAY)], ["c".repeat(32), "used today", sqlTime(now2)]],
    });
    await addHostInfo(db, [now2 - 60_000]);
    await runRetention(db, now2, 30);
    // command lines go only once no kept row can refer to them
    expect((await db.query<any>("SELECT remarks FROM tb_monitor_process_info ORDER BY remarks")).map((r) => r.remarks)).toEqual(["used 31 days ago", "used today"]);
    const left = await hostInfoTimes(db);
    expect(left).toContain("2026-01-13 00:01:00");
    expect(left).toContain(sqlTime(now2 - 60_000));
    expect(left).not.toContain("2026-01-09 01:00:00");
    expect(left).not.toContain("2026-01-10 01:00:00");
    // report ids are kept 8 days at most
    expect((await db.query<any>("SELECT report_id FROM tb_monitor_report_seen ORDER BY report_id")).map((r) => r.report_id)).toEqual(["new"]);
    // an alert still firing keeps its row
    expect((await db.query<any>("SELECT rshost FROM tb_monitor_alert_info ORDER BY rshost")).map((r) => r.rshost)).toEqual(["ongoing", "recent"]);
  });

  if (backend.name === "mariadb") {
    test("MariaDB: daily partitions are created ahead and expired ones dropped, never pmax", async () => {
      const h = await openMigrated(backend);
      cleanups.push(h.cleanup);
      const db = h.db;
      for (const t of TIME_SERIES_TABLES) expect(await partitions(db, t)).toEqual(["pmax"]);
      const now1 = day("2026-01-10") + 3_600_000;
      const r1 = await runRetention(db, now1, 30);
      expect(r1.created.length).toBe(TIME_SERIES_TABLES.length * (DAYS_AHEAD + 1));
      for (const t of TIME_SERIES_TABLES) expect(await partitions(db, t)).toEqual(["p20260110", "p20260111", "p20260112", "p20260113", "pmax"]);
      // idempotent within the same day
      expect((await runRetention(db, now1 + 3_600_000, 30)).created).toEqual([]);
      // a day later: one more day ahead
      expect((await runRetention(db, now1 + DAY, 30)).created).toContain("tb_monitor_host_info.p20260114");
      // 33 days later the cutoff is 2026-01-13 01:00: days ending by 01-13 00:00 go
      const r3 = await runRetention(db, day("2026-02-12") + 3_600_000, 30);
      expect(r3.dropped).toContain("tb_monitor_host_info.p20260110");
      expect(r3.dropped).toContain("tb_monitor_host_info.p20260112");
      expect(r3.dropped).not.toContain("tb_monitor_host_info.p20260113");
      expect(await partitions(db, "tb_monitor_process_io_info")).toEqual(["p20260113", "p20260114", "p20260212", "p20260213", "p20260214", "p20260215", "pmax"]);
    });

    test("MariaDB: a second server running retention at the same time skips", async () => {
      const h = await openMigrated(backend);
      cleanups.push(h.cleanup);
      const holder = await h.db.transaction(async (tx) => {
        await tx.query("SELECT GET_LOCK(CONCAT('pmon_retention:', DATABASE()), 0)");
        const r = await runRetention(h.db, day("2026-01-10"), 30);
        await tx.query("SELECT RELEASE_LOCK(CONCAT('pmon_retention:', DATABASE()))");
        return r;
      });
      expect(holder.skipped).toBe(true);
      expect(holder.created).toEqual([]);
    });
  } else {
    test("SQLite: deletes in batches and leaves every young row", async () => {
      const h = await openMigrated(backend);
      cleanups.push(h.cleanup);
      const db = h.db;
      const now = day("2026-03-01");
      const old = Array.from({ length: DELETE_BATCH * 2 + 123 }, (_, i) => now - 40 * DAY + i * 100);
      const young = Array.from({ length: 500 }, (_, i) => now - 10 * DAY + i * 1000);
      await addHostInfo(db, [...old, ...young]);
      const r = await runRetention(db, now, 30);
      expect(r.deleted.tb_monitor_host_info).toBe(old.length);
      const left = await hostInfoTimes(db);
      expect(left.length).toBe(young.length);
      expect(left[0]).toBe(sqlTime(young[0]!));
    });
  }
});
