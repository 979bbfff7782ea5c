// The old Grafana dashboard's SQL (seed-reference §6; copied here for host_info, disk and process
// panels) still runs on rows written by writeReports, on MariaDB, and returns the legacy units.
// test/views/ checks every panel of the shipped dashboards; this is the store's own guard.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { openDb, type Db } from "../../../src/store/db.ts";
import { migrate } from "../../../src/store/schema.ts";
import { writeReports } from "../../../src/store/reports.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { makeReport } from "../../helpers/reports.ts";

setDefaultTimeout(60_000);

const HOST = "10.0.0.5";
const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);

const PANELS: Record<string, string> = {
  cpu_core: `select UNIX_TIMESTAMP(a_time) AS "time", concat(rshost,'_core' ), sum(CONVERT(cpu_info -> '$.total', UNSIGNED INTEGER) ) cpu_total
    from tb_monitor_host_info where rshost = '$host' and $__timeFilter(a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(a_time)`,
  cpu_id: `select UNIX_TIMESTAMP(a_time) AS "time", rshost, sum(CONVERT(cpu_info -> '$.id', UNSIGNED INTEGER) ) cpu_id
    from tb_monitor_host_info where rshost = '$host' and $__timeFilter(a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(a_time)`,
  mem_used: `select UNIX_TIMESTAMP(a_time) AS "time", rshost, sum(CONVERT(mem_info -> '$.used', UNSIGNED INTEGER) ) mem_used
    from tb_monitor_host_info where rshost = '$host' and $__timeFilter(a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(a_time)`,
  disk_write: `select UNIX_TIMESTAMP(a_time) AS "time", rshost, sum(json_unquote(io_info -> '$.Total.write')) disk_write
    from tb_monitor_host_info where rshost = '$host' and $__timeFilter(a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(a_time)`,
  net_send: `select UNIX_TIMESTAMP(a_time) AS "time", rshost, sum(json_unquote(net -> '$.send')) net_send
    from tb_monitor_host_info where rshost = '$host' and $__timeFilter(a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(a_time)`,
  disk_used: `select UNIX_TIMESTAMP(a_time) AS "time", concat(rshost,":",part) part, sum(CONVERT(disk_info -> '$.used', UNSIGNED INTEGER) ) disk_used
    from tb_monitor_disk_info where rshost = '$host' and $__timeFilter(a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(a_time)`,
  disk_util: `select UNIX_TIMESTAMP(a_time) AS "time", concat(rshost,":",dev) part, sum(util) disk_util
    from tb_monitor_disk_util_qu_info where rshost = '$host' and $__timeFilter(a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(a_time)`,
  process_cpu: `SELECT UNIX_TIMESTAMP(t1.a_time) AS "time", concat(t1.rshost,':',t1.rsport,' ',t2.remarks) AS metric, sum(t1.cpu)
    FROM tb_monitor_process_io_info t1 join tb_monitor_process_info t2 on t1.md5_str = t2.md5_str
    where t1.rshost = '$host' and t1.cpu > 20 and $__timeFilter(t1.a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(t1.a_time)`,
  process_mem: `SELECT UNIX_TIMESTAMP(t1.a_time) AS "time", concat(t1.rshost,':',t1.rsport,' ',t2.remarks) AS metric, sum(t1.mem)
    FROM tb_monitor_process_io_info t1 join tb_monitor_process_info t2 on t1.md5_str = t2.md5_str
    where t1.rshost = '$host' and t1.mem > 5 and $__timeFilter(t1.a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(t1.a_time)`,
  process_read: `SELECT UNIX_TIMESTAMP(t1.a_time) AS "time", concat(t1.rshost,':',t1.rsport,' ',t2.remarks) AS metric, sum(t1.io_r)
    FROM tb_monitor_process_io_info t1 join tb_monitor_process_info t2 on t1.md5_str = t2.md5_str
    where t1.rshost = '$host' and t1.io_r > 10240 and $__timeFilter(t1.a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(t1.a_time)`,
  process_net_in: `SELECT UNIX_TIMESTAMP(a_time) AS "time", concat(rsinfo,'_',remote) AS metric, sum(in_info)
    FROM tb_monitor_port_net_info where rsinfo like '$host%' and in_info > 10240 and $__timeFilter(a_time) GROUP BY 1,2 ORDER BY UNIX_TIMESTAMP(a_time)`,
};

/** What Grafana sends for these panels: `x -> '$.k'` as JSON_EXTRACT (TiDB-safe), macros expanded. */
function expand(sql: string, fromS: number, toS: number): string {
  return sql
    .replace(/(\w+(?:\.\w+)?)\s*->\s*'([^']+)'/g, "JSON_EXTRACT($1, '$2')")
    .replace(/\$__timeFilter\(([\w.]+)\)/g, `$1 BETWEEN FROM_UNIXTIME(${fromS}) AND FROM_UNIXTIME(${toS})`)
    .replace(/\$host/g, HOST);
}

describe("legacy dashboard SQL on MariaDB", () => {
  let db: Db;
  const rows: Record<string, any[]> = {};
  beforeAll(async () => {
    db = openDb((await testMariaDB("pmon_legacy")).url);
    await migrate(db);
    const items = [0, 1, 2].map((i) => {
      const report = makeReport({ host: HOST, time: T0 + i * 30_000 });
      return { report, receivedAt: report.time + 1000 };
    });
    await writeReports(db, items);
    // Grafana's MySQL data source runs its sessions in UTC.
    await db.transaction(async (tx) => {
      await tx.exec("SET time_zone = '+00:00'");
      for (const [name, sql] of Object.entries(PANELS)) rows[name] = await tx.query(expand(sql, T0 / 1000 - 60, T0 / 1000 + 3600));
    });
  });
  afterAll(() => db.close());

  test("host panels: one point per report, legacy units", () => {
    expect(rows.cpu_core!.map((r) => [r.time, r.cpu_total])).toEqual([0, 1, 2].map((i) => [T0 / 1000 + i * 30, 32]));
    expect(rows.cpu_id!.map((r) => r.cpu_id)).toEqual([72, 72, 72]); // CONVERT(72.5 AS UNSIGNED) truncates as before
    expect(rows.mem_used!.map((r) => r.mem_used)).toEqual([40, 40, 40]); // GB
    expect(rows.net_send!.map((r) => r.net_send)).toEqual([21504, 21504, 21504]); // KB/s
    expect(rows.disk_write![0].disk_write).toBeGreaterThan(0);
  });

  test("disk panels", () => {
    expect(rows.disk_used!.filter((r) => r.time === T0 / 1000).map((r) => [r.part, r.disk_used])).toEqual([
      [`${HOST}:/dev/sda1`, 40],
      [`${HOST}:/dev/sdb1`, 1500],
    ]);
    expect(rows.disk_util!.map((r) => [r.part, Number(r.disk_util)])).toEqual([0, 1, 2].map(() => [`${HOST}:/dev/sdb`, 75.5]));
  });

  test("process panels: the join on md5_str, rsport = pid, thresholds in legacy units", () => {
    const metric = `${HOST}:4242 /usr/sbin/mysqld --defaults-file=/etc/my3306.cnf --port=3306`;
    for (const panel of ["process_cpu", "process_mem", "process_read"]) {
      expect(rows[panel]!.map((r) => r.metric)).toEqual([metric, metric, metric]);
    }
    expect(Number(rows.process_mem![0]["sum(t1.mem)"])).toBeCloseTo(6.5, 6);
    expect(Number(rows.process_read![0]["sum(t1.io_r)"])).toBe(15 * 1024);
    expect(rows.process_net_in!.map((r) => r.metric)).toContain(`${HOST}:3306_10.0.0.9:51234`);
  });
});
