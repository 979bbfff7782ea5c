// Migrations 6 and 7 change how rows are stored (md5 as 16 bytes; on SQLite a_time as epoch seconds
// and rates as hundredths) behind columns that read the same: rows written before them read back
// exactly as they did, on both backends, and new rows after them too.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { sqlTime, type Db } from "../../../src/store/db.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { md5Hex, writeReports } from "../../../src/store/reports.ts";
import { MIGRATIONS, VERSION_DDL, VERSION_TABLE } from "../../../src/store/schema.ts";
import { makeProcess, makeReport } from "../../helpers/reports.ts";
import { BACKENDS } from "../../helpers/store/backends.ts";

setDefaultTimeout(60_000);

const T = Date.UTC(2026, 0, 10, 12, 0, 7);
const MD5 = md5Hex("/usr/sbin/mysqld --port=3306");

/** The schema as it was at `version`. */
async function migrateTo(db: Db, version: number): Promise<void> {
  await db.exec(VERSION_DDL[db.dialect]);
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    for (const sql of m[db.dialect]) await db.exec(sql);
    await db.exec(`INSERT INTO ${VERSION_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`, [m.version, m.name, sqlTime(T)]);
  }
}

const PROCESS_READ = "SELECT pid, cpu, io_r, io_w, net_in, net_out, md5_str, a_time FROM tb_monitor_process_io_info WHERE rshost = ? ORDER BY id";

describe.each(BACKENDS)("stored-form migrations on $name", (backend) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const h = await backend.open();
    db = h.db;
    cleanup = h.cleanup;
    await migrateTo(db, 5);
  });
  afterAll(() => cleanup());

  test("rows written before read back the same; the indexes are rebuilt; new rows read as written", async () => {
    // rows as versions up to 5 wrote them
    await db.exec(
      "INSERT INTO tb_monitor_process_io_info (rshost, pid, cpu, io_r, io_w, net_in, net_out, md5_str, a_time) VALUES (?, 1, 12.34, 0.01, 1048576.99, 0, 3.5, ?, ?), (?, 2, 0, 0, 0, 0, 0, '', ?)",
      ["old", MD5, sqlTime(T), "old", sqlTime(T + 30_000)],
    );
    await db.exec("INSERT INTO tb_monitor_port_net_info (rshost, pid, rsinfo, remote, in_info, out_info, a_time) VALUES ('old', 1, 'a:1', 'b:2', 11264.57, 0.07, ?)", [sqlTime(T)]);
    await db.exec("INSERT INTO tb_monitor_process_info (md5_str, remarks, comm, a_time) VALUES (?, '/usr/sbin/mysqld --port=3306', 'mysqld', ?)", [MD5, sqlTime(T)]);
    const before = await db.query(PROCESS_READ, ["old"]);
    const portsBefore = await db.query("SELECT in_info, out_info, a_time FROM tb_monitor_port_net_info WHERE rshost = 'old'");

    const r = await migrate(db, T);
    expect(r.applied).toEqual(MIGRATIONS.filter((m) => m.version > 5).map((m) => m.version));
    expect(await db.query(PROCESS_READ, ["old"])).toEqual(before);
    expect(await db.query("SELECT in_info, out_info, a_time FROM tb_monitor_port_net_info WHERE rshost = 'old'")).toEqual(portsBefore);
    // the old dashboard's join still finds the command line
    const joined = await db.query<{ comm: string }>(
      "SELECT t2.comm FROM tb_monitor_process_io_info t1 JOIN tb_monitor_process_info t2 ON t1.md5_str = t2.md5_str WHERE t1.rshost = 'old'",
    );
    expect(joined).toEqual([{ comm: "mysqld" }]);
    // time ranges on the legacy column still answer; pmon's own use the index (on SQLite the one on t, migration 8)
    const inRange = await db.query<{ pid: number }>("SELECT pid FROM tb_monitor_process_io_info WHERE rshost = ? AND a_time >= ? AND a_time < ? ORDER BY pid", ["old", sqlTime(T + 1000), sqlTime(T + 60_000)]);
    expect(inRange.map((x) => Number(x.pid))).toEqual([2]);
    if (backend.name === "sqlite") {
      const plan = await db.query<{ detail: string }>("EXPLAIN QUERY PLAN SELECT pid FROM tb_monitor_process_io_info WHERE rshost = ? AND t >= ?", ["old", T / 1000]);
      expect(plan.map((x) => x.detail).join("\n")).toContain("USING INDEX tb_monitor_process_io_info_idx_rshost_t (rshost=? AND t>?)");
    }

    // new rows through the writer
    const report = makeReport({
      host: "new",
      id: "new-1",
      time: T + 60_000,
      processes: [makeProcess({ pid: 7, cmdline: "/usr/sbin/mysqld --port=3306", cpu_pct: 12.345, read_bytes_per_s: 1024 * 3.5, write_bytes_per_s: 0, net_rx_bytes_per_s: 10, net_tx_bytes_per_s: 1e9 })],
    });
    expect(await writeReports(db, [{ report, receivedAt: T + 60_500 }])).toEqual(["stored"]);
    const [p] = await db.query<Record<string, unknown>>(PROCESS_READ, ["new"]);
    expect(Number(p!.pid)).toBe(7);
    expect(p!.md5_str).toBe(MD5);
    expect(p!.a_time).toBe(sqlTime(T + 60_000));
    if (backend.name === "sqlite") {
      // doubles exactly as the writer rounded them (MySQL's FLOAT columns are single precision)
      expect([p!.cpu, p!.io_r, p!.io_w, p!.net_in, p!.net_out]).toEqual([12.35, 3.5, 0, 0.01, Math.round((1e9 / 1024) * 100) / 100]);
      const [stored] = await db.query<{ t: number; cpu_x100: number; kind: string }>("SELECT t, cpu_x100, typeof(cpu_x100) AS kind FROM tb_monitor_process_io_info WHERE rshost = 'new'");
      expect(stored).toEqual({ t: (T + 60_000) / 1000, cpu_x100: 1235, kind: "integer" });
    }
    // migrating again finds nothing to do
    expect((await migrate(db, T)).applied).toEqual([]);
  });
});
