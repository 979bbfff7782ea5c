// A database as the old Python tool left it: its nine tables (test/fixtures/legacy/old-schema.sql)
// with rows in every one, in the old units and the old JSON shapes (numbers as strings). For the
// migration, status, top and dashboard tests.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { splitSqlStatements } from "../../../src/store/schema.ts";

export const OLD_SCHEMA_SQL = join(import.meta.dir, "../../fixtures/legacy/old-schema.sql");

/** Old hosts and their istate: 2 deployed (its old client reported), 1 to deploy, 0 to remove, -1 removed. */
export const OLD_HOSTS = { "10.0.0.5": 2, "10.0.0.6": 1, "10.0.0.7": 0, "10.0.0.8": -1 } as const;
export const OLD_HOST = "10.0.0.5";
export const OLD_CMD = "/usr/sbin/mysqld --defaults-file=/etc/my3306.cnf --port=3306";
export const OLD_PID = 4242;
/** reports of OLD_HOST, 30 s apart */
export const OLD_REPORTS = 6;

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

function oldTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

export interface LegacyRows {
  /** a_time of each OLD_HOST report (epoch ms), oldest first */
  times: number[];
  /** rows per table after seeding */
  counts: Record<string, number>;
}

/** Creates the old schema in the (empty) database at `url` and fills it; reports end at `lastMs`. */
export async function createLegacyDatabase(url: string, lastMs: number): Promise<LegacyRows> {
  const c = await mysql.createConnection({ uri: url, timezone: "Z", dateStrings: true });
  try {
    for (const sql of splitSqlStatements(readFileSync(OLD_SCHEMA_SQL, "utf8"))) await c.query(sql);
    for (const [host, istate] of Object.entries(OLD_HOSTS)) await c.query("INSERT INTO tb_monitor_host_config SELECT 0, ?, ?", [host, istate]);
    await c.query("INSERT INTO tb_monitor_version (version, a_time) VALUES ('1.5', ?), ('1.6', ?)", [oldTime(lastMs - 86_400_000 * 40), oldTime(lastMs - 86_400_000 * 2)]);
    const times: number[] = [];
    for (let i = OLD_REPORTS - 1; i >= 0; i--) times.push(Math.floor((lastMs - i * 30_000) / 1000) * 1000);
    const other = "/usr/bin/java -jar /opt/app/app.jar";
    await c.query("REPLACE INTO tb_monitor_process_info (md5_str, remarks) VALUES (?, ?), (?, ?)", [md5(OLD_CMD), OLD_CMD, md5(other), other]);
    for (const [i, t] of times.entries()) {
      const at = oldTime(t);
      await c.query("INSERT INTO tb_monitor_host_info (rshost, cpu_info, mem_info, io_info, net, a_time) VALUES (?, ?, ?, ?, ?, ?)", [
        OLD_HOST,
        JSON.stringify({ total: "32", load: String(3 + i), id: "72", wa: "1" }),
        JSON.stringify({ total: "62", used: "40", free: "22" }),
        JSON.stringify({ Total: { read: "15.72", write: "20480.5" }, Actual: { read: "15.72", write: "20480.5" } }),
        JSON.stringify({ speed: "1000" }),
        at,
      ]);
      await c.query("INSERT INTO tb_monitor_disk_info (rshost, part, disk_info, a_time) VALUES (?, '/dev/sdb1', ?, ?)", [OLD_HOST, JSON.stringify({ total: "1800", used: "1500", free: "300" }), at]);
      await c.query("INSERT INTO tb_monitor_disk_util_qu_info (rshost, dev, avgqu, util, a_time) VALUES (?, '/dev/sdb', 7, 80, ?)", [OLD_HOST, at]);
      await c.query("INSERT INTO tb_monitor_port_net_info (rsinfo, remote, in_info, out_info, a_time) VALUES (?, '10.0.0.9:51234', 20480, 12000, ?)", [`${OLD_HOST}:3306`, at]);
      // the old client stored the pid in rsport and memory as whole GB, stamped by its process collector's clock
      const procAt = oldTime(t - 2000);
      await c.query("INSERT INTO tb_monitor_process_io_info (rshost, rsport, cpu, mem, io_r, io_w, a_time, md5_str, remarks) VALUES (?, ?, 250, 6, 15360, 0, ?, ?, ''), (?, 777, 30, 12, 0, 0, ?, ?, '')", [
        OLD_HOST,
        OLD_PID,
        procAt,
        md5(OLD_CMD),
        OLD_HOST,
        procAt,
        md5(other),
      ]);
    }
    await c.query("INSERT INTO tb_monitor_alert_info (rshost, istate, a_time, remarks) VALUES ('10.0.0.6', 3, ?, '超过2min未上报'), ('10.0.0.1', 1, ?, '10.0.0.5报告, server 端连接异常')", [
      oldTime(lastMs - 600_000),
      oldTime(lastMs - 300_000),
    ]);
    const counts: Record<string, number> = {};
    const [tables] = await c.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()");
    for (const { t } of tables as { t: string }[]) {
      const [r] = await c.query(`SELECT COUNT(*) AS n FROM \`${t}\``);
      counts[t] = Number((r as { n: number }[])[0]!.n);
    }
    return { times, counts };
  } finally {
    await c.end();
  }
}
