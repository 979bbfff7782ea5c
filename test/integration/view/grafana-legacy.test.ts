// Both dashboards over a migrated old database: the old tool's rows (hours ago) and pmon's rows of the
// same host after it was enrolled (the last minutes) come back together from pmon's dashboard
// (init/grafana/pmon.json) and from the old dashboard's query shapes (test/fixtures/legacy/old-dashboard.json),
// with Grafana's macros and variables expanded as its MySQL data source does, on MariaDB.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { createLogger } from "../../../src/log.ts";
import type { Db } from "../../../src/store/db.ts";
import { recordReportSeen, registerHost } from "../../../src/store/hosts.ts";
import { openStore } from "../../../src/store/open.ts";
import { writeReports } from "../../../src/store/reports.ts";
import { ROOT } from "../../helpers/binary.ts";
import { createLegacyDatabase, OLD_HOST } from "../../helpers/store/legacy-db.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { makeReportSeries } from "../../helpers/reports.ts";
import { expandGrafanaSql, panelTargets, rewriteJsonArrows, type GrafanaRange, type GrafanaVariable } from "../../helpers/view/grafana-sql.ts";

setDefaultTimeout(60_000);

const pmonDashboard = JSON.parse(readFileSync(join(ROOT, "init/grafana/pmon.json"), "utf8"));
const oldDashboard = JSON.parse(readFileSync(join(ROOT, "test/fixtures/legacy/old-dashboard.json"), "utf8"));

const now = Date.now();
const oldEnd = now - 2 * 3_600_000;
const range: GrafanaRange = { from: Math.floor(now / 1000) - 6 * 3600, to: Math.floor(now / 1000) + 60, interval: "1m" };
let db: Db;
let conn: mysql.Connection;

beforeAll(async () => {
  const url = (await testMariaDB("pmon_grafana_legacy")).url;
  await createLegacyDatabase(url, oldEnd);
  db = await openStore({ storage: url, data_dir: "/nonexistent" }, createLogger("silent"));
  // the operator enrolled the old host; its pmon agent has reported for five minutes since
  await registerHost(db, OLD_HOST, { secretHash: "0".repeat(64), istate: 2 });
  const reports = makeReportSeries(10, { host: OLD_HOST, endTime: now - 30_000, intervalMs: 30_000 });
  await writeReports(db, reports.map((report) => ({ report, receivedAt: report.time })));
  const last = reports.at(-1)!;
  await recordReportSeen(db, OLD_HOST, { receivedAt: last.time, agentTime: last.time, agentVersion: last.agent_version, clockSkewMs: 0 });
  conn = await mysql.createConnection({ uri: url, timezone: "Z", dateStrings: true });
  await conn.query("SET time_zone = '+00:00'");
}, 120_000);

afterAll(async () => {
  await conn?.end();
  await db?.close();
});

/** Which periods a panel's rows come from: the old tool's (up to oldEnd) and pmon's (after). */
async function periods(sql: string): Promise<{ old: number; new: number }> {
  const [rows, fields] = await conn.query(sql);
  const timeCol = (fields as { name: string }[]).map((f) => f.name).find((n) => n === "time" || n === "time_sec");
  const out = { old: 0, new: 0 };
  if (!timeCol) return out;
  for (const r of rows as Record<string, unknown>[]) {
    if (Number(r[timeCol]) * 1000 <= oldEnd) out.old++;
    else out.new++;
  }
  return out;
}

describe("pmon's dashboard over old and new rows", () => {
  const vars: Record<string, GrafanaVariable> = { host: { values: [OLD_HOST], multi: true }, topn: { values: ["10"], multi: false }, silent_after_s: { values: ["120"], multi: false } };

  test("host, disk and process panels show the old history and pmon's rows together", async () => {
    const both: string[] = [];
    for (const t of panelTargets(pmonDashboard)) {
      const p = await periods(expandGrafanaSql(t.rawSql, vars, range));
      if (p.old > 0 && p.new > 0) both.push(t.panel);
    }
    for (const panel of ["CPU busy %", "Load (1 min)", "IO wait %", "Memory used %", "Memory used", "Filesystem used %", "Top CPU by instance", "Top memory by instance"]) {
      expect(both, panel).toContain(panel);
    }
  });

  test("the Hosts table shows the enrolled old host as running", async () => {
    const t = panelTargets(pmonDashboard).find((x) => x.panel === "Hosts")!;
    const [rows] = await conn.query(expandGrafanaSql(t.rawSql, { ...vars, host: { values: [OLD_HOST, "10.0.0.6"], multi: true } }, range));
    expect((rows as { host: string; state: string }[]).map((r) => [r.host, r.state])).toEqual([
      [OLD_HOST, "running"],
      ["10.0.0.6", "waiting"],
    ]);
  });
});

describe("the old dashboard's query shapes over old and new rows", () => {
  const single: Record<string, GrafanaVariable> = { host: { values: [OLD_HOST], multi: false } };

  test("its host variable lists the host once", async () => {
    const [rows] = await conn.query(oldDashboard.templating.list[0].query);
    expect((rows as { rshost: string }[]).map((r) => r.rshost)).toEqual([OLD_HOST]);
  });

  test("all 24 panels run; each returns old and new rows, but what the old tool never stored", async () => {
    const targets = panelTargets(oldDashboard);
    expect(targets).toHaveLength(24);
    const onlyNew: string[] = [];
    for (const t of targets) {
      const p = await periods(rewriteJsonArrows(expandGrafanaSql(t.rawSql, single, range)));
      expect(p.new, t.panel).toBeGreaterThan(0);
      if (p.old === 0) onlyNew.push(t.panel);
    }
    // the old client wrote no process with io_w over the threshold in this history
    expect(onlyNew).toEqual(["process write"]);
  });
});
