// Every panel of both dashboards (pmon's init/grafana/pmon.json and the old tool's query shapes, test/fixtures/legacy/old-dashboard.json) run on
// MariaDB after a real `pmon server` + `pmon agent` wrote rows, with the Grafana macros and variables
// expanded as Grafana's MySQL data source does. A synthetic busy host (10.0.0.1, written through
// writeReports) makes sure the threshold-filtered process panels have rows too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { openDb, type Db } from "../../../src/store/db.ts";
import { registerHost } from "../../../src/store/hosts.ts";
import { writeReports } from "../../../src/store/reports.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { ROOT } from "../../helpers/binary.ts";
import { fleetReport } from "../../helpers/view/fleet.ts";
import { expandGrafanaSql, panelTargets, rewriteJsonArrows, type GrafanaRange, type GrafanaVariable, type PanelTarget } from "../../helpers/view/grafana-sql.ts";
import { startLiveFleet, waitFor, type LiveFleet } from "../../helpers/view/live.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const LIVE_HOST = "127.0.0.1";
const BUSY_HOST = "10.0.0.1";
const NEIGHBOUR = "10.0.0.10"; // LIKE '10.0.0.1%' matches it; exact matching must not

const pmonDashboard = JSON.parse(readFileSync(join(ROOT, "init/grafana/pmon.json"), "utf8"));
const seedDashboard = JSON.parse(readFileSync(join(ROOT, "test/fixtures/legacy/old-dashboard.json"), "utf8"));

let live: LiveFleet;
let conn: mysql.Connection;
let db: Db;
let range: GrafanaRange;
let mariaUrl: string;

beforeAll(async () => {
  const maria = await testMariaDB("pmon_grafana");
  mariaUrl = maria.url;
  live = await startLiveFleet(maria.url, LIVE_HOST);
  db = openDb(maria.url);
  conn = await mysql.createConnection({ uri: maria.url, timezone: "Z", dateStrings: true });
  // a few real rounds: the agent reports every second
  await waitFor("3 reports of the real agent", async () => {
    const [rows] = await conn.query("SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE rshost = ?", [LIVE_HOST]);
    return Number((rows as { n: number }[])[0]!.n) >= 3;
  });
  await live.stopAgent();

  // the busy synthetic hosts, in the last 10 minutes
  const now = Date.now();
  for (const h of [BUSY_HOST, NEIGHBOUR]) await registerHost(db, h, { secretHash: "0".repeat(64), istate: 2 });
  const items = [];
  for (let i = 0; i < 10; i++) {
    const t = now - 30_000 * (i + 1);
    items.push({
      receivedAt: t,
      report: fleetReport(
        BUSY_HOST,
        t,
        i,
        [
          { pid: 1001, comm: "mysqld", instance: "3306", cpu_pct: 250, rss_bytes: 24 * GiB, read_bytes_per_s: 20 * MiB, write_bytes_per_s: 20 * MiB, net_rx_bytes_per_s: 11 * MiB },
          { pid: 1002, comm: "mysqld", instance: "3307", cpu_pct: 30, rss_bytes: 6 * GiB },
        ],
        { cpu_pct: 20, rss_bytes: 2 * GiB },
      ),
    });
    const n = fleetReport(NEIGHBOUR, t, i, [{ pid: 7, comm: "redis-server", instance: "6379", cpu_pct: 210, rss_bytes: 6 * GiB }], {});
    n.connections = [{ pid: 7, local: `${NEIGHBOUR}:6379`, remote: "10.0.0.9:40000", rx_bytes_per_s: 20 * MiB, tx_bytes_per_s: 20 * MiB }];
    items.push({ receivedAt: t, report: n });
  }
  await writeReports(db, items);
  range = { from: Math.floor(now / 1000) - 3600, to: Math.floor(now / 1000) + 60, interval: "1m" };
}, 180_000);

afterAll(async () => {
  await live?.stop();
  await conn?.end();
  await db?.close();
}, 60_000);

type Result = { rows: Record<string, unknown>[]; columns: string[] };

async function run(sql: string): Promise<Result> {
  const [rows, fields] = await conn.query(sql);
  return { rows: rows as Record<string, unknown>[], columns: (fields as { name: string }[]).map((f) => f.name) };
}

const isNum = (v: unknown) => v !== null && v !== "" && Number.isFinite(Number(v));

/** What Grafana needs: time series = a time column in the range + numeric values (+ string labels); table = rows. */
function checkShape(t: PanelTarget, r: Result): void {
  const where = `${t.panel}: `;
  expect(r.rows.length, where + "no rows").toBeGreaterThan(0);
  if (t.format !== "time_series") return;
  const timeCol = r.columns.find((c) => c === "time" || c === "time_sec");
  expect(timeCol, where + `no time column in ${r.columns}`).toBeDefined();
  const values = r.columns.filter((c) => c !== timeCol && r.rows.every((row) => typeof row[c] !== "string" || isNum(row[c])));
  expect(values.length, where + "no value column").toBeGreaterThan(0);
  for (const row of r.rows) {
    const ts = Number(row[timeCol!]);
    expect(ts >= range.from - 86_400 && ts <= range.to, where + `time ${ts} outside the range`).toBe(true);
    for (const c of values) expect(row[c] === null || isNum(row[c]), where + `${c}=${row[c]}`).toBe(true);
  }
}

const all = (values: string[]): Record<string, GrafanaVariable> => ({ host: { values, multi: true }, topn: { values: ["10"], multi: false }, silent_after_s: { values: ["120"], multi: false } });

describe("pmon dashboard", () => {
  const targets = panelTargets(pmonDashboard);

  test("uses a data source variable, no hard-coded uid, and SQL that MySQL 5.7 and MariaDB both run", () => {
    const text = JSON.stringify(pmonDashboard);
    expect(pmonDashboard.templating.list.find((v: { name: string }) => v.name === "datasource")).toMatchObject({ type: "datasource", query: "mysql" });
    const uids = [...text.matchAll(/"uid":\s*"([^"]*)"/g)].map((m) => m[1]);
    expect(new Set(uids.filter((u) => u !== "pmon-fleet"))).toEqual(new Set(["${datasource}"]));
    expect(targets.length).toBeGreaterThanOrEqual(20);
    for (const t of targets) {
      expect(t.rawSql, t.panel).not.toMatch(/->|\bOVER\s*\(|\bWITH\s+\w+\s+AS\s*\(|\bLIKE\s+'\$/i);
    }
    const hostVar = pmonDashboard.templating.list.find((v: { name: string }) => v.name === "host");
    expect(hostVar.query).toContain("tb_monitor_host_config");
  });

  test("every panel returns rows of the right shape for the whole fleet", async () => {
    for (const t of targets) checkShape(t, await run(expandGrafanaSql(t.rawSql, all([LIVE_HOST, BUSY_HOST, NEIGHBOUR]), range)));
  });

  test("host panels show the real agent's own rows", async () => {
    const hostPanels = ["CPU busy %", "Load (1 min)", "Memory used %", "Memory used", "Filesystem used %", "Network receive", "Network send", "CPU: kept processes and the rest", "Top CPU by instance", "Top memory by instance"];
    for (const t of targets.filter((x) => hostPanels.includes(x.panel))) {
      const r = await run(expandGrafanaSql(t.rawSql, all([LIVE_HOST]), range));
      checkShape(t, r);
    }
    const hostsTable = targets.find((t) => t.panel === "Hosts")!;
    const r = await run(expandGrafanaSql(hostsTable.rawSql, all([LIVE_HOST]), range));
    expect(r.columns).toEqual(["host", "state", "version", "last_report", "age_s", "clock_skew_s", "deploy_error"]);
    expect(r.rows).toHaveLength(1);
    const row = r.rows[0]!;
    expect(row).toMatchObject({ host: LIVE_HOST, version: "0.1.0" });
    expect(Number(row.last_report)).toBeGreaterThan(range.from * 1000);
    // the server's manager may have tried (and failed) to redeploy the --no-deploy host over ssh
    expect(row.state).toBe(row.deploy_error ? "failed" : "running");
  });

  test("the host variable matches exactly: 10.0.0.1 does not pull in 10.0.0.10", async () => {
    const t = targets.find((x) => x.panel === "Top CPU by instance")!;
    const r = await run(expandGrafanaSql(t.rawSql, all([BUSY_HOST]), range));
    const series = new Set(r.rows.map((row) => String(row.metric)));
    expect([...series].sort()).toEqual(["10.0.0.1 mysqld:3306", "10.0.0.1 mysqld:3307"]);
  });

  test("the top-N selection keeps N series over the whole range", async () => {
    const t = targets.find((x) => x.panel === "Top CPU by instance")!;
    const vars = { ...all([LIVE_HOST, BUSY_HOST, NEIGHBOUR]), topn: { values: ["2"], multi: false } };
    const r = await run(expandGrafanaSql(t.rawSql, vars, range));
    expect(new Set(r.rows.map((row) => String(row.metric)))).toEqual(new Set(["10.0.0.1 mysqld:3306", "10.0.0.10 redis-server:6379"]));
  });
});

describe("the old dashboard's query shapes on pmon's tables (MariaDB: -> rewritten to JSON_EXTRACT)", () => {
  const targets = panelTargets(seedDashboard);
  const single = (host: string): Record<string, GrafanaVariable> => ({ host: { values: [host], multi: false } });

  test("its host variable lists the hosts", async () => {
    const v = seedDashboard.templating.list[0];
    const r = await run(v.query.replace(/;\s*$/, ""));
    expect(r.rows.map((x) => x.rshost).sort()).toEqual([BUSY_HOST, NEIGHBOUR, LIVE_HOST].sort());
  });

  test("all 24 panels return rows for the busy host", async () => {
    expect(targets).toHaveLength(24);
    for (const t of targets) checkShape(t, await run(rewriteJsonArrows(expandGrafanaSql(t.rawSql, single(BUSY_HOST), range))));
  });

  test("host panels return the real agent's rows", async () => {
    const hostLevel = targets.filter((t) => /^(cpu_|CPU_|mem_|disk_(total|used|free|write|read)$|speed$|net_)/.test(t.panel));
    expect(hostLevel.length).toBe(16);
    for (const t of hostLevel) checkShape(t, await run(rewriteJsonArrows(expandGrafanaSql(t.rawSql, single(LIVE_HOST), range))));
  });
});

describe("status and top on the rows the real pipeline wrote", () => {
  test("pmon status --source api (GET /v1/hosts with the operator secret) agrees with --source store", () => {
    const api = live.pmon(["status", "--source", "api", "--json"]);
    const store = live.pmon(["status", "--source", "store", "--json"]);
    expect(api.stderr).toBe("");
    const a = JSON.parse(api.stdout).hosts as { host: string; state: string; agent_version: string | null; top_process: unknown }[];
    const s = JSON.parse(store.stdout).hosts as typeof a;
    expect(a.map((h) => h.host)).toEqual([BUSY_HOST, NEIGHBOUR, LIVE_HOST]);
    expect(a.map((h) => [h.host, h.state, h.agent_version])).toEqual(s.map((h) => [h.host, h.state, h.agent_version]));
    const mine = a.find((h) => h.host === LIVE_HOST)!;
    expect(mine.agent_version).toBe("0.1.0");
    expect(mine.top_process).not.toBeNull();
    const problem = a.some((h) => h.state === "silent" || h.state === "failed");
    expect(api.code).toBe(problem ? 1 : 0);
    expect(store.code).toBe(api.code);
  });

  test("pmon top --host on the real agent's samples: shares of one sample add up to at most 100%", () => {
    const r = live.pmon(["top", "--host", LIVE_HOST, "--json", "--limit", "1000"]);
    expect(r.code).toBe(0);
    const top = JSON.parse(r.stdout) as { hosts: number; rows: { host: string; share: number | null; sample_time: number; value: number }[] };
    expect(top.hosts).toBe(1);
    expect(top.rows.length).toBeGreaterThan(0);
    expect(new Set(top.rows.map((x) => x.sample_time)).size).toBe(1);
    const sum = top.rows.reduce((acc, x) => acc + (x.share ?? 0), 0);
    expect(sum).toBeLessThanOrEqual(1.000001);
    const text = live.pmon(["top", "--host", LIVE_HOST, "--by", "mem", "--limit", "3"]);
    expect(text.stdout.split("\n")[1]).toMatch(/^HOST\s+PID\s+INSTANCE\s+RSS\s+SHARE\s+SAMPLE \(UTC\)\s+COMMAND$/);
  });
});

describe("provisioning", () => {
  const provisioning = join(ROOT, "init/grafana/provisioning");
  /** Grafana replaces $VAR and ${VAR} in provisioning values with its environment. */
  const expandEnv = (v: string, env: Record<string, string>) => v.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => env[a ?? b] ?? "");

  test("the data source file reaches the store with nothing but environment variables", async () => {
    const yaml = Bun.YAML.parse(readFileSync(join(provisioning, "datasources/pmon.yaml"), "utf8")) as { apiVersion: number; datasources: Record<string, any>[] };
    expect(yaml.apiVersion).toBe(1);
    const ds = yaml.datasources[0]!;
    expect(ds.type).toBe("mysql");
    const u = new URL(mariaUrl);
    const env = { PMON_MYSQL_HOST: u.hostname, PMON_MYSQL_PORT: u.port, PMON_MYSQL_USER: u.username, PMON_MYSQL_PASSWORD: u.password, PMON_MYSQL_DATABASE: u.pathname.slice(1) };
    const [host, port] = expandEnv(ds.url, env).split(":");
    const c = await mysql.createConnection({ host, port: Number(port), user: expandEnv(ds.user, env), password: expandEnv(ds.secureJsonData.password, env), database: expandEnv(ds.jsonData.database, env), timezone: ds.jsonData.timezone });
    const hostVar = pmonDashboard.templating.list.find((v: { name: string }) => v.name === "host");
    const [rows] = await c.query(hostVar.query);
    await c.end();
    expect((rows as { rshost: string }[]).map((r) => r.rshost)).toEqual([BUSY_HOST, NEIGHBOUR, LIVE_HOST]);
  });

  test("the dashboard provider loads the directory that holds pmon.json", () => {
    const yaml = Bun.YAML.parse(readFileSync(join(provisioning, "dashboards/pmon.yaml"), "utf8")) as { apiVersion: number; providers: Record<string, any>[] };
    const p = yaml.providers[0]!;
    expect(p.type).toBe("file");
    expect(expandEnv(p.options.path, { PMON_GRAFANA_DASHBOARDS: join(ROOT, "init/grafana") })).toBe(join(ROOT, "init/grafana"));
    expect(pmonDashboard.uid).toBe("pmon-fleet");
  });
});
