// The old tool's database (test/fixtures/legacy/old-schema.sql with rows in every table), migrated in
// place on MariaDB: every row and id kept, pmon's columns, indexes, tables and partitions added,
// resumable after an interruption at any step, one migration when two servers start at once, and an
// unknown schema refused with nothing changed.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { createLogger } from "../../../src/log.ts";
import { openDb, type Db } from "../../../src/store/db.ts";
import { HELD_UNTIL, partitionBigTables, UnknownSchemaError } from "../../../src/store/legacy.ts";
import { openStore } from "../../../src/store/open.ts";
import { runRetention } from "../../../src/store/retention.ts";
import { LATEST_VERSION, TABLES, VERSION_TABLE } from "../../../src/store/schema.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { createLegacyDatabase, OLD_HOST, OLD_HOSTS, OLD_PID, OLD_REPORTS } from "../../helpers/store/legacy-db.ts";
import { requireBinary, ROOT } from "../../helpers/binary.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";

setDefaultTimeout(120_000);

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const OLD_TABLES = [
  "tb_monitor_host_config",
  "tb_monitor_host_info",
  "tb_monitor_disk_info",
  "tb_monitor_disk_util_qu_info",
  "tb_monitor_port_net_info",
  "tb_monitor_process_info",
  "tb_monitor_process_io_info",
  "tb_monitor_alert_info",
  "tb_monitor_version",
];

async function ids(db: Db): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const t of OLD_TABLES) out[t] = (await db.query<{ id: number }>(`SELECT id FROM ${t} ORDER BY id`)).map((r) => Number(r.id));
  return out;
}

async function columns(db: Db, table: string): Promise<Record<string, string>> {
  const rows = await db.query<{ c: string; t: string; x: string }>(
    "SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t, EXTRA AS x FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [table],
  );
  return Object.fromEntries(rows.map((r) => [r.c, `${r.t} ${r.x}`.trim()]));
}

async function partitions(db: Db, table: string): Promise<string[]> {
  const rows = await db.query<{ p: string | null }>(
    "SELECT PARTITION_NAME AS p FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY PARTITION_ORDINAL_POSITION",
    [table],
  );
  return rows.map((r) => r.p).filter((p): p is string => p !== null);
}

async function legacyDb(): Promise<{ db: Db; url: string; before: Record<string, number[]> }> {
  const m = await testMariaDB("pmon_legacy");
  await createLegacyDatabase(m.url, NOW - 86_400_000);
  const db = openDb(m.url);
  return { db, url: m.url, before: await ids(db) };
}

describe("an old tool's database migrated in place", () => {
  test("every old row and id is kept; pmon's columns, indexes, tables and daily partitions are added", async () => {
    const { db, before } = await legacyDb();
    try {
      for (const t of OLD_TABLES) expect(before[t]!.length, t).toBeGreaterThan(0);
      const r = await migrate(db, NOW);
      expect(r.legacy?.found.tables.sort()).toEqual([...OLD_TABLES].sort());
      expect(r.legacy?.result.heldHosts).toBe(Object.keys(OLD_HOSTS).length);
      expect(r.legacy?.result.unpartitioned).toEqual([]);
      expect(r.to).toBe(LATEST_VERSION);
      expect(await ids(db)).toEqual(before);

      // every table pmon uses exists, with every column pmon's fresh schema has
      const fresh = openDb((await testMariaDB("pmon_fresh")).url);
      await migrate(fresh, NOW);
      for (const t of TABLES) expect(Object.keys(await columns(db, t)).sort(), t).toEqual(Object.keys(await columns(fresh, t)).sort());
      await fresh.close();

      // the pid the old tool kept in rsport, memory in whole GB: now pid/rss_bytes with rsport/mem generated from them
      const proc = await columns(db, "tb_monitor_process_io_info");
      expect(proc.rsport).toContain("GENERATED");
      expect(proc.mem).toContain("GENERATED");
      const p = await db.query<{ pid: number; rsport: number; rss_bytes: number; mem: number; start_time: number }>(
        "SELECT pid, rsport, rss_bytes, mem, start_time FROM tb_monitor_process_io_info WHERE rshost = ? AND cpu = 250",
        [OLD_HOST],
      );
      expect(p).toHaveLength(OLD_REPORTS);
      for (const row of p) expect([Number(row.pid), Number(row.rsport), Number(row.rss_bytes), Number(row.mem), Number(row.start_time)]).toEqual([OLD_PID, OLD_PID, 6 * 1024 ** 3, 6, 0]);
      // old hosts are held: no secret, not pmon's to deploy
      const hosts = await db.query<{ rshost: string; istate: number; deployed_by_pmon: number; next_deploy_at: number }>(
        "SELECT rshost, istate, deployed_by_pmon, next_deploy_at FROM tb_monitor_host_config ORDER BY rshost",
      );
      expect(hosts.map((h) => [h.rshost, Number(h.istate), Number(h.deployed_by_pmon), Number(h.next_deploy_at)])).toEqual(Object.entries(OLD_HOSTS).map(([h, s]) => [h, s, 0, HELD_UNTIL]));
      // old rows carry what pmon's queries read: bytes of the disks, the host of each connection, command names
      const disk = await db.query<{ total_bytes: number; used_bytes: number }>("SELECT total_bytes, used_bytes FROM tb_monitor_disk_info LIMIT 1");
      expect([Number(disk[0]!.total_bytes), Number(disk[0]!.used_bytes)]).toEqual([1800 * 1024 ** 3, 1500 * 1024 ** 3]);
      expect((await db.query<{ rshost: string }>("SELECT DISTINCT rshost FROM tb_monitor_port_net_info")).map((x) => x.rshost)).toEqual([OLD_HOST]);
      expect((await db.query<{ comm: string }>("SELECT comm FROM tb_monitor_process_info ORDER BY comm")).map((x) => x.comm)).toEqual(["java", "mysqld"]);
      // the alert table is keyed by (host, kind) now; the old rows are 'silent' ones
      expect((await db.query<{ kind: string }>("SELECT kind FROM tb_monitor_alert_info")).map((x) => x.kind)).toEqual(["silent", "silent"]);
      // daily partitions from the oldest row's day to a few days ahead, like a fresh database
      const parts = await partitions(db, "tb_monitor_host_info");
      expect(parts.at(-1)).toBe("pmax");
      expect(parts[0]).toBe("p20261119");
      // a second start changes nothing
      const again = await migrate(db, NOW + 60_000);
      expect(again.legacy).toBeUndefined();
      expect(again.applied).toEqual([]);
      expect(await ids(db)).toEqual(before);
    } finally {
      await db.close();
    }
  });

  // 21 steps on this database: hold the hosts, one ALTER per table, the process columns, keys and partitions
  for (const stopAt of Array.from({ length: 21 }, (_, i) => i + 1)) {
    test(`interrupted at step ${stopAt}, the next start finishes with the same result`, async () => {
      const { db, before } = await legacyDb();
      try {
        let n = 0;
        const interrupt = new Error("simulated crash");
        const r = await migrate(db, NOW, {
          progress: () => {
            if (++n === stopAt) throw interrupt;
          },
        }).catch((e) => e);
        expect(r).toBe(interrupt);
        const done = await migrate(db, NOW);
        expect(done.to).toBe(LATEST_VERSION);
        expect(await ids(db)).toEqual(before);
        const p = await db.query<{ pid: number; mem: number }>("SELECT DISTINCT pid, mem FROM tb_monitor_process_io_info WHERE cpu = 250");
        expect(p.map((x) => [Number(x.pid), Number(x.mem)])).toEqual([[OLD_PID, 6]]);
        expect(await partitions(db, "tb_monitor_process_io_info")).toContain("pmax");
        const held = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_config WHERE next_deploy_at = ?", [HELD_UNTIL]);
        expect(Number(held[0]!.n)).toBe(Object.keys(OLD_HOSTS).length);
      } finally {
        await db.close();
      }
    });
  }

  test("two servers starting together: one migrates, the other waits and finds it done", async () => {
    const { db, url, before } = await legacyDb();
    try {
      const child = join(import.meta.dir, "../../helpers/store/migrate-child.ts");
      const run = () =>
        new Promise<string>((resolve, reject) => {
          const p = spawn(process.execPath, [child, url], { stdio: ["ignore", "pipe", "pipe"] });
          let out = "";
          let err = "";
          p.stdout.on("data", (d) => (out += d));
          p.stderr.on("data", (d) => (err += d));
          p.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
        });
      const results = (await Promise.all([run(), run()])).map((o) => JSON.parse(o) as { legacy?: unknown; applied: number[] });
      expect(results.filter((r) => r.legacy !== undefined)).toHaveLength(1);
      expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
      expect(await ids(db)).toEqual(before);
      const v = await db.query<{ version: number }>(`SELECT version FROM ${VERSION_TABLE} ORDER BY version`);
      expect(v.map((x) => Number(x.version))).toEqual(Array.from({ length: LATEST_VERSION }, (_, i) => i + 1));
    } finally {
      await db.close();
    }
  });

  test("pmon server's store says so in one line", async () => {
    const m = await testMariaDB("pmon_legacy_log");
    await createLegacyDatabase(m.url, NOW - 86_400_000);
    const lines: string[] = [];
    const log = createLogger("info");
    log.setReporters([{ log: (o) => lines.push(`${o.type} ${o.args.join(" ")}`) }]);
    const db = await openStore({ storage: m.url, data_dir: "/nonexistent" }, log);
    await db.close();
    const said = lines.filter((l) => l.includes("old tool's schema"));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^info .*9 tables.*every row kept.*4 old host\(s\) wait for `pmon enroll` or server.adopt_legacy_hosts/);
  });

  test("big tables keep batched-delete retention; pmon migrate --partition converts them with progress", async () => {
    const { db, before } = await legacyDb();
    try {
      const r = await migrate(db, NOW, { partitionMaxRows: 3 }); // every time series with more than 3 rows counts as big
      expect(r.legacy?.result.unpartitioned).toContain("tb_monitor_process_io_info");
      expect(await partitions(db, "tb_monitor_process_io_info")).toEqual([]);
      expect(await partitions(db, "tb_monitor_alert_info")).toEqual([]);
      // retention on the unpartitioned table deletes in batches
      const ret = await runRetention(db, NOW + 40 * 86_400_000, 30);
      expect(ret.deleted.tb_monitor_process_io_info).toBe(OLD_REPORTS * 2);
      // put the rows back for the conversion
      await db.exec("DELETE FROM tb_monitor_process_io_info");
      await db.exec(
        `INSERT INTO tb_monitor_process_io_info (id, rshost, pid, cpu, rss_bytes, a_time, md5) VALUES ${before.tb_monitor_process_io_info!.map((id) => `(${id}, '${OLD_HOST}', 1, 1, 1, '2026-11-19 10:00:00', '')`).join(",")}`,
      );
      const progress: string[] = [];
      const out = await partitionBigTables(db, NOW, (m) => progress.push(m));
      expect(out.find((x) => x.table === "tb_monitor_process_io_info")).toEqual({ table: "tb_monitor_process_io_info", rows: before.tb_monitor_process_io_info!.length, skipped: false });
      expect(progress.some((m) => /tb_monitor_process_io_info: \d+ of \d+ rows copied \(100 %\)/.test(m))).toBe(true);
      expect(await partitions(db, "tb_monitor_process_io_info")).toContain("p20261119");
      expect((await db.query<{ id: number }>("SELECT id FROM tb_monitor_process_io_info ORDER BY id")).map((x) => Number(x.id))).toEqual(before.tb_monitor_process_io_info!);
      // new rows get ids above the old ones
      await db.exec("INSERT INTO tb_monitor_process_io_info (rshost, pid, a_time) VALUES ('h', 2, '2026-11-20 10:00:00')");
      const [max] = await db.query<{ id: number }>("SELECT MAX(id) AS id FROM tb_monitor_process_io_info");
      expect(Number(max!.id)).toBeGreaterThan(Math.max(...before.tb_monitor_process_io_info!));
      // a second run finds nothing to do
      expect((await partitionBigTables(db, NOW, () => {})).every((x) => x.skipped)).toBe(true);
    } finally {
      await db.close();
    }
  });
});

describe("pmon migrate through the compiled binary", () => {
  const pmon = (args: string[], url: string) => {
    const r = Bun.spawnSync([requireBinary(), ...args, "--storage", url], { env: { ...process.env, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
    return { code: r.exitCode, stderr: r.stderr.toString() };
  };

  test("--partition converts the tables left unpartitioned, with progress lines", async () => {
    const { db, url, before } = await legacyDb();
    try {
      await migrate(db, NOW, { partitionMaxRows: 3 });
      const r = pmon(["migrate", "--partition"], url);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/\[migrate\] tb_monitor_process_io_info: \d+ of \d+ rows copied \(100 %\)/);
      expect(r.stderr).toContain("[migrate] tb_monitor_process_io_info: partitioned by day");
      expect(r.stderr).toMatch(/\[migrate\] partitioned \d+ table\(s\): .*tb_monitor_host_info \(6 rows\)/);
      for (const t of ["tb_monitor_host_info", "tb_monitor_process_io_info"]) expect(await partitions(db, t), t).toContain("pmax");
      expect(await ids(db)).toEqual(before);
      expect(pmon(["migrate", "--partition"], url).stderr).toContain("every time-series table is already partitioned by day");
    } finally {
      await db.close();
    }
  });

  test("an unknown schema is one line and exit 1", async () => {
    const m = await testMariaDB("pmon_unknown_cli");
    const c = await mysql.createConnection({ uri: m.url });
    await c.query("CREATE TABLE tb_monitor_host_config (id bigint PRIMARY KEY, hostname varchar(64))");
    await c.end();
    const r = pmon(["migrate"], m.url);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("pmon migrate: the database holds tb_monitor_* tables pmon does not recognise");
  });
});

describe("rolling back to the old tool", () => {
  test("after the SQL in docs/migrating.md, the old tool's own statements work on the migrated tables", async () => {
    const { db, url } = await legacyDb();
    try {
      await migrate(db, NOW);
      const doc = readFileSync(join(ROOT, "docs/migrating.md"), "utf8");
      const block = /<!-- rollback-sql[^>]*-->\s*```sql\n([\s\S]*?)```/.exec(doc)?.[1];
      expect(block).toBeDefined();
      const c = await mysql.createConnection({ uri: url });
      try {
        for (const sql of block!.split(/;\s*\n/).map((x) => x.trim()).filter(Boolean)) await c.query(sql);
        // what the old server and clients execute (column lists as the old code writes them)
        const at = "2026-11-20 11:00:00";
        await c.query(`insert into tb_monitor_process_io_info(rshost,rsport,cpu,mem,io_r,io_w,a_time,md5_str,remarks) values('${OLD_HOST}','4343','210','7','0','0','${at}',MD5('x'),'')`);
        await c.query("replace into tb_monitor_process_info(md5_str,remarks) values(MD5('x'),'x')");
        await c.query(`insert into tb_monitor_host_info(rshost,cpu_info,mem_info,io_info,net,a_time) values('${OLD_HOST}','{"total":"32"}','{"total":"62"}','{}','{"speed":"1000"}','${at}')`);
        await c.query(`insert into tb_monitor_port_net_info(rsinfo,remote,in_info,out_info,a_time) values('${OLD_HOST}:3306','10.0.0.9:1',20000,0,'${at}')`);
        await c.query(`replace into tb_monitor_alert_info(rshost,istate,a_time,remarks) values('10.0.0.6',1,now(),'x')`);
        await c.query("insert into tb_monitor_version(version,a_time) values('1.6',now())");
        await c.query("update tb_monitor_host_config set istate=1 where istate=2");
        await c.query("delete from tb_monitor_host_info where a_time < date_sub(now(), interval 30 day)");
        const [rows] = await c.query("SELECT rsport, mem FROM tb_monitor_process_io_info WHERE cpu = 250 LIMIT 1");
        expect(rows as unknown[]).toEqual([{ rsport: OLD_PID, mem: 6 }]);
        const [alerts] = await c.query("SELECT COUNT(*) AS n FROM tb_monitor_alert_info WHERE rshost = '10.0.0.6'");
        expect(alerts as unknown[]).toEqual([{ n: 1 }]);
      } finally {
        await c.end();
      }
    } finally {
      await db.close();
    }
  });
});

describe("a schema pmon does not recognise", () => {
  test("is refused with a clear message and left exactly as it was", async () => {
    const m = await testMariaDB("pmon_unknown");
    const c = await mysql.createConnection({ uri: m.url });
    await c.query("CREATE TABLE tb_monitor_host_config (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, hostname varchar(64), owner varchar(64))");
    await c.query("CREATE TABLE tb_monitor_billing (id int PRIMARY KEY)");
    await c.query("INSERT INTO tb_monitor_host_config (hostname, owner) VALUES ('a', 'b')");
    const snapshot = async () => {
      const [rows] = await c.query("SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2");
      return rows;
    };
    const before = await snapshot();
    const db = openDb(m.url);
    const err = await migrate(db, NOW).catch((e) => e);
    await db.close();
    expect(err).toBeInstanceOf(UnknownSchemaError);
    expect(err.message).toMatch(/^the database holds tb_monitor_\* tables pmon does not recognise .*nothing was changed: table tb_monitor_billing is not one pmon or the old tool creates; tb_monitor_host_config\.hostname is an unknown column/);
    expect(await snapshot()).toEqual(before);
    await c.end();
  });
});
