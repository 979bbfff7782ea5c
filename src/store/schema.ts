// The database schema as ordered forward migrations, written once for MySQL/MariaDB/TiDB and once for
// SQLite. migrate() (migrate.ts) applies the missing ones under a lock; init/init.sql is the same MySQL DDL
// (mysqlInitSql() renders it, test/integration/store/schema.test.ts proves the two agree).
//
// Legacy tables, columns, units and JSON keys are kept so the old Grafana dashboard still works
// (see docs/storage.md). Time-series tables on MySQL are RANGE-partitioned by day on a_time
// (retention.ts adds and drops the daily partitions), which is why their primary key is (id, a_time).
import type { Dialect } from "./db.ts";

export interface Migration {
  version: number;
  name: string;
  mysql: readonly string[];
  sqlite: readonly string[];
}

/** The table recording applied migrations. */
export const VERSION_TABLE = "tb_monitor_schema_version";

/** Report dedupe: (host, report id) -> when it arrived. */
export const SEEN_TABLE = "tb_monitor_report_seen";

/** Tables partitioned by day on MySQL and pruned by a_time (retention.ts). */
export const TIME_SERIES_TABLES = [
  "tb_monitor_host_info",
  "tb_monitor_disk_info",
  "tb_monitor_disk_util_qu_info",
  "tb_monitor_port_net_info",
  "tb_monitor_process_io_info",
  "tb_monitor_process_rest_info",
  "tb_monitor_listen_port_info",
  "tb_monitor_net_unattributed_info",
] as const;

// --- one table definition renders both dialects ---

export interface ColumnDef {
  name: string;
  /** MySQL type and modifiers, e.g. "varchar(255) NOT NULL DEFAULT ''" */
  mysql: string;
  /** SQLite STRICT type and modifiers; STRICT makes SQLite reject values MySQL would reject too */
  sqlite: string;
}

export interface TableDef {
  name: string;
  columns: ColumnDef[];
  /** MySQL primary key columns; SQLite uses `id INTEGER PRIMARY KEY` or these when there is no id */
  primaryKey: string[];
  unique?: Record<string, string[]>;
  index?: Record<string, string[]>;
  /** daily RANGE partitions on a_time (MySQL only) */
  partitioned?: boolean;
  /** InnoDB compressed pages of this KEY_BLOCK_SIZE in KB (MySQL only) */
  compressed?: 4 | 8;
}

const c = (name: string, mysql: string, sqlite: string): ColumnDef => ({ name, mysql, sqlite });
const id = c("id", "bigint NOT NULL AUTO_INCREMENT", "INTEGER PRIMARY KEY");
// Host names up to the protocol's 255 characters; ascii so the composite indexes stay small.
const rshost = c("rshost", "varchar(255) CHARACTER SET ascii NOT NULL DEFAULT ''", "TEXT NOT NULL DEFAULT ''");
const aTime = c("a_time", "datetime NOT NULL DEFAULT '2022-01-01 00:00:00'", "TEXT NOT NULL DEFAULT '2022-01-01 00:00:00'");
const json = (name: string) => c(name, "json NULL", "TEXT NULL");
const text = (name: string, len: number, notNull = true) =>
  c(name, `varchar(${len})${notNull ? " NOT NULL DEFAULT ''" : " NULL"}`, `TEXT${notNull ? " NOT NULL DEFAULT ''" : " NULL"}`);
const float = (name: string) => c(name, "float NOT NULL DEFAULT '0'", "REAL NOT NULL DEFAULT 0");
const int = (name: string, nullable = false) => c(name, nullable ? "int NULL" : "int NOT NULL DEFAULT '0'", nullable ? "INTEGER NULL" : "INTEGER NOT NULL DEFAULT 0");
const bigint = (name: string, nullable = false) =>
  c(name, nullable ? "bigint NULL" : "bigint NOT NULL DEFAULT '0'", nullable ? "INTEGER NULL" : "INTEGER NOT NULL DEFAULT 0");
const md5 = c("md5_str", "char(32) CHARACTER SET ascii NOT NULL DEFAULT ''", "TEXT NOT NULL DEFAULT ''");
const hostTime = { idx_rshost_a_time: ["rshost", "a_time"] };

/** The tables of migration 1 (legacy.ts converges an old tool's tables to them). */
export const TABLES_V1: readonly TableDef[] = [
  {
    name: "tb_monitor_host_config",
    columns: [
      id,
      rshost,
      // 1 = to deploy, 2 = running, 0 = to remove, -1 = removed (the legacy lifecycle)
      c("istate", "tinyint NOT NULL DEFAULT '0'", "INTEGER NOT NULL DEFAULT 0"),
      text("secret_hash", 128),
      text("agent_version", 64),
      text("previous_version", 64),
      // epoch ms: last_report_at is the server clock, last_agent_time the agent's report time
      bigint("last_report_at", true),
      bigint("last_agent_time", true),
      bigint("clock_skew_ms", true),
      int("deploy_failures"),
      text("deploy_error", 2048),
      bigint("next_deploy_at", true),
      c("created_at", "datetime NOT NULL DEFAULT '2022-01-01 00:00:00'", "TEXT NOT NULL DEFAULT '2022-01-01 00:00:00'"),
      c("updated_at", "datetime NOT NULL DEFAULT '2022-01-01 00:00:00'", "TEXT NOT NULL DEFAULT '2022-01-01 00:00:00'"),
    ],
    primaryKey: ["id"],
    unique: { uk_rshost: ["rshost"] },
  },
  {
    // one row per report; JSON keys and units exactly as the old dashboard reads them
    name: "tb_monitor_host_info",
    columns: [id, rshost, json("cpu_info"), json("mem_info"), json("io_info"), json("net"), aTime],
    primaryKey: ["id", "a_time"],
    index: hostTime,
    partitioned: true,
    compressed: 8,
  },
  {
    // one row per filesystem; part = the device (legacy), sizes in GB in disk_info, exact bytes beside
    name: "tb_monitor_disk_info",
    columns: [id, rshost, text("part", 255), json("disk_info"), text("mount", 4096), text("fstype", 64), bigint("total_bytes"), bigint("used_bytes"), bigint("free_bytes"), aTime],
    primaryKey: ["id", "a_time"],
    index: hostTime,
    partitioned: true,
    compressed: 8,
  },
  {
    // devices over thresholds.disk_avgqu or thresholds.disk_util_pct only (legacy semantics)
    name: "tb_monitor_disk_util_qu_info",
    columns: [id, rshost, text("dev", 300), float("avgqu"), float("util"), float("read_kbs"), float("write_kbs"), aTime],
    primaryKey: ["id", "a_time"],
    index: hostTime,
    partitioned: true,
    compressed: 8,
  },
  {
    // per connection; rsinfo = local ip:port, remote = peer ip:port, in_info/out_info KB/s
    name: "tb_monitor_port_net_info",
    columns: [id, rshost, int("pid", true), text("rsinfo", 64), text("remote", 64), c("in_info", "double NOT NULL DEFAULT '0'", "REAL NOT NULL DEFAULT 0"), c("out_info", "double NOT NULL DEFAULT '0'", "REAL NOT NULL DEFAULT 0"), aTime],
    primaryKey: ["id", "a_time"],
    index: hostTime,
    partitioned: true,
    compressed: 8,
  },
  {
    // the command-line dictionary: written once per distinct command line (INSERT IGNORE), never replaced
    name: "tb_monitor_process_info",
    columns: [id, md5, c("remarks", "mediumtext NULL", "TEXT NULL"), text("comm", 64), aTime],
    primaryKey: ["id"],
    unique: { uk_md5: ["md5_str"] },
  },
  {
    // per kept process: cpu %, mem GB, io KB/s, net KB/s; rsport repeats pid for the old dashboard
    name: "tb_monitor_process_io_info",
    columns: [
      id,
      rshost,
      int("pid"),
      c("rsport", "int GENERATED ALWAYS AS (`pid`) VIRTUAL", "INTEGER GENERATED ALWAYS AS (pid) VIRTUAL"),
      // epoch ms; (pid, start_time) is the identity of a process
      bigint("start_time"),
      int("ppid"),
      text("user", 256),
      text("instance", 1024),
      float("cpu"),
      bigint("rss_bytes"),
      // exact GB derived from rss_bytes: costs no storage
      c("mem", "double GENERATED ALWAYS AS (`rss_bytes` / 1073741824) VIRTUAL", "REAL GENERATED ALWAYS AS (rss_bytes / 1073741824.0) VIRTUAL"),
      float("io_r"),
      float("io_w"),
      float("net_in"),
      float("net_out"),
      int("threads"),
      aTime,
      md5,
      c("remarks", "text NULL", "TEXT NULL"),
    ],
    primaryKey: ["id", "a_time"],
    index: hostTime,
    partitioned: true,
    compressed: 4,
  },
  {
    // everything beyond the kept processes, so kept + rest add up to the host; same units
    name: "tb_monitor_process_rest_info",
    columns: [id, rshost, int("count"), float("cpu"), bigint("rss_bytes"), c("mem", "double GENERATED ALWAYS AS (`rss_bytes` / 1073741824) VIRTUAL", "REAL GENERATED ALWAYS AS (rss_bytes / 1073741824.0) VIRTUAL"), float("io_r"), float("io_w"), float("net_in"), float("net_out"), aTime],
    primaryKey: ["id", "a_time"],
    index: hostTime,
    partitioned: true,
    compressed: 8,
  },
  {
    // traffic of all connections accepted on one listening port, KB/s
    name: "tb_monitor_listen_port_info",
    columns: [id, rshost, int("port"), int("pid", true), int("connections"), float("in_info"), float("out_info"), aTime],
    primaryKey: ["id", "a_time"],
    index: hostTime,
    partitioned: true,
    compressed: 8,
  },
  {
    // interface traffic no socket accounts for, KB/s
    name: "tb_monitor_net_unattributed_info",
    columns: [id, rshost, text("iface", 64), float("in_info"), float("out_info"), aTime],
    primaryKey: ["id", "a_time"],
    index: hostTime,
    partitioned: true,
    compressed: 8,
  },
  {
    // report dedupe: the same (host, report id) is stored once; pruned by retention
    name: "tb_monitor_report_seen",
    columns: [rshost, c("report_id", "varchar(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL", "TEXT NOT NULL"), aTime],
    primaryKey: ["rshost", "report_id"],
    index: { idx_a_time: ["a_time"] },
    compressed: 8,
  },
  {
    // alert state per (host, kind); istate 0 = ok/recovered, n > 0 = alerting with n alerts sent
    name: "tb_monitor_alert_info",
    columns: [
      c("id", "bigint unsigned NOT NULL AUTO_INCREMENT", "INTEGER PRIMARY KEY"),
      c("rshost", "varchar(255) CHARACTER SET ascii DEFAULT ''", "TEXT DEFAULT ''"),
      c("kind", "varchar(32) NOT NULL DEFAULT 'silent'", "TEXT NOT NULL DEFAULT 'silent'"),
      c("istate", "tinyint NOT NULL DEFAULT '0'", "INTEGER NOT NULL DEFAULT 0"),
      c("a_time", "datetime NOT NULL DEFAULT '2021-12-08 00:00:00'", "TEXT NOT NULL DEFAULT '2021-12-08 00:00:00'"),
      text("remarks", 1024),
      c("since", "datetime NULL", "TEXT NULL"),
      int("sent"),
      text("owner", 128),
    ],
    primaryKey: ["id"],
    unique: { uk_alert_task: ["rshost", "kind"] },
    index: { idx_a_time: ["a_time"] },
  },
  {
    // the newest row is the version agents must run
    name: "tb_monitor_version",
    columns: [c("id", "int NOT NULL AUTO_INCREMENT", "INTEGER PRIMARY KEY"), c("version", "varchar(64) DEFAULT ''", "TEXT DEFAULT ''"), aTime],
    primaryKey: ["id"],
    index: { idx_a_time: ["a_time"] },
  },
  {
    // server heartbeats: which servers are alive (a_time = last heartbeat)
    name: "tb_monitor_server_info",
    columns: [id, text("server_id", 128), text("address", 255), text("version", 64), c("started_at", "datetime NOT NULL DEFAULT '2022-01-01 00:00:00'", "TEXT NOT NULL DEFAULT '2022-01-01 00:00:00'"), aTime],
    primaryKey: ["id"],
    unique: { uk_server_id: ["server_id"] },
    index: { idx_a_time: ["a_time"] },
  },
];

/**
 * Every alert message sent (firing, repeat, recovery), once: tb_monitor_alert_info holds one row per
 * incident, this one row per message. event_key (md5 of host, kind, state and times) makes a
 * re-recorded message (an agent's server-down alert carried by a replayed report) a no-op.
 */
export const ALERT_LOG_TABLE: TableDef = {
  name: "tb_monitor_alert_log",
  columns: [
    id,
    c("event_key", "char(32) CHARACTER SET ascii NOT NULL", "TEXT NOT NULL"),
    rshost,
    text("kind", 255),
    // firing | repeat | resolved
    c("state", "varchar(16) CHARACTER SET ascii NOT NULL DEFAULT ''", "TEXT NOT NULL DEFAULT ''"),
    c("since", "datetime NULL", "TEXT NULL"),
    aTime,
    c("message", "text NULL", "TEXT NULL"),
    // 1 = a channel accepted it (or none is configured), 0 = every channel failed; channels = how many were tried
    c("delivered", "tinyint NOT NULL DEFAULT '0'", "INTEGER NOT NULL DEFAULT 0"),
    int("channels"),
    // the server that sent it, or the agent for server_down
    text("sender", 128),
  ],
  primaryKey: ["id"],
  unique: { uk_event_key: ["event_key"] },
  index: { idx_a_time: ["a_time"] },
};

function mysqlCreate(t: TableDef): string {
  const lines = t.columns.map((col) => `  \`${col.name}\` ${col.mysql}`);
  lines.push(`  PRIMARY KEY (${t.primaryKey.map((k) => `\`${k}\``).join(", ")})`);
  for (const [name, cols] of Object.entries(t.unique ?? {})) lines.push(`  UNIQUE KEY \`${name}\` (${cols.map((k) => `\`${k}\``).join(", ")})`);
  for (const [name, cols] of Object.entries(t.index ?? {})) lines.push(`  KEY \`${name}\` (${cols.map((k) => `\`${k}\``).join(", ")})`);
  // InnoDB needs the AUTO_INCREMENT column first in some index; (id, a_time) is the primary key.
  let sql = `CREATE TABLE IF NOT EXISTS \`${t.name}\` (\n${lines.join(",\n")}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
  // Measured with bench/ingest-db.ts (typical host, MariaDB 10.11): uncompressed 12.3 MB/host/day,
  // all tables at 8 KB 5.8 MB, process rows at 4 KB 4.5 MB for about half the insert rate; all at
  // 4 KB 3.9 MB but a third of it. TiDB parses and ignores these options.
  if (t.compressed) sql += ` ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=${t.compressed}`;
  if (t.partitioned) sql += `\nPARTITION BY RANGE (TO_DAYS(\`a_time\`)) (PARTITION pmax VALUES LESS THAN MAXVALUE)`;
  return sql;
}

function sqliteCreate(t: TableDef): string[] {
  const hasId = t.columns.some((col) => col.name === "id");
  const lines = t.columns.map((col) => `  ${col.name} ${col.sqlite}`);
  if (!hasId) lines.push(`  PRIMARY KEY (${t.primaryKey.join(", ")})`);
  const out = [`CREATE TABLE IF NOT EXISTS ${t.name} (\n${lines.join(",\n")}\n) STRICT`];
  // SQLite index names are per database, so they carry the table name.
  for (const [name, cols] of Object.entries(t.unique ?? {})) out.push(`CREATE UNIQUE INDEX IF NOT EXISTS ${t.name}_${name} ON ${t.name} (${cols.join(", ")})`);
  for (const [name, cols] of Object.entries(t.index ?? {})) out.push(`CREATE INDEX IF NOT EXISTS ${t.name}_${name} ON ${t.name} (${cols.join(", ")})`);
  return out;
}

// --- columns added after version 1: one definition for the ALTER and for the value checks ---

const PROCESS_EXITED = c("exited", "tinyint NOT NULL DEFAULT '0'", "INTEGER NOT NULL DEFAULT 0");
/** The command line's md5 as 16 bytes; md5_str becomes a VIRTUAL column of its hex (migration 6). */
const PROCESS_MD5 = c("md5", "varbinary(16) NOT NULL DEFAULT ''", "BLOB NOT NULL DEFAULT x''");
const ADDED_COLUMNS: readonly [table: string, column: ColumnDef][] = [
  ["tb_monitor_process_io_info", PROCESS_EXITED],
  ["tb_monitor_process_io_info", PROCESS_MD5],
];

function addColumn(table: string, col: ColumnDef): { mysql: string[]; sqlite: string[] } {
  return { mysql: [`ALTER TABLE \`${table}\` ADD COLUMN \`${col.name}\` ${col.mysql}`], sqlite: [`ALTER TABLE ${table} ADD COLUMN ${col.name} ${col.sqlite}`] };
}

// --- SQLite keeps the time-series tables compact (migration 7) ---

/** The 2-decimal rates and percentages of each time-series table (reports.ts rounds them to hundredths). */
const HUNDREDTHS: Record<(typeof TIME_SERIES_TABLES)[number], readonly string[]> = {
  tb_monitor_host_info: [],
  tb_monitor_disk_info: [],
  tb_monitor_disk_util_qu_info: ["avgqu", "util", "read_kbs", "write_kbs"],
  tb_monitor_port_net_info: ["in_info", "out_info"],
  tb_monitor_process_io_info: ["cpu", "io_r", "io_w", "net_in", "net_out"],
  tb_monitor_process_rest_info: ["cpu", "io_r", "io_w", "net_in", "net_out"],
  tb_monitor_listen_port_info: ["in_info", "out_info"],
  tb_monitor_net_unattributed_info: ["in_info", "out_info"],
};

/** How SQLite stores one column of a time-series table instead of the column every query reads. */
export interface SqliteStored {
  /** the stored column */
  name: string;
  /** the value as the writer has it -> the stored value */
  toStored: (v: unknown) => unknown;
}

const epochSeconds = (v: unknown) => Math.floor(Date.parse(String(v).replace(" ", "T") + "Z") / 1000);
// a safe integer is stored as one (1-4 bytes instead of a REAL's 8); an absurdly big value stays a REAL
const hundredths = (v: unknown) => Math.round(Number(v) * 100);

/**
 * Table -> column -> its stored form. SQLite (no page compression) stores a_time as epoch seconds `t`
 * (4 bytes instead of 19 characters) and the rates as integer hundredths `<col>_x100`; the columns
 * every query reads are VIRTUAL columns giving back the same text and the same doubles
 * (datetime(t, 'unixepoch'), k / 100.0). MySQL keeps its DATETIME and FLOAT columns.
 */
export const SQLITE_STORED: ReadonlyMap<string, ReadonlyMap<string, SqliteStored>> = new Map([
  ...TIME_SERIES_TABLES.map((t): [string, Map<string, SqliteStored>] => [
    t,
    new Map<string, SqliteStored>([
      ["a_time", { name: "t", toStored: epochSeconds }],
      ...HUNDREDTHS[t].map((col): [string, SqliteStored] => [col, { name: `${col}_x100`, toStored: hundredths }]),
    ]),
  ]),
  // migration 8
  [SEEN_TABLE, new Map<string, SqliteStored>([["a_time", { name: "t", toStored: epochSeconds }]])],
]);

/**
 * SQLite indexes the stored epoch seconds instead of the VIRTUAL text a_time: an index on a VIRTUAL
 * column holds its computed value, 19 characters per row where `t` takes 4 (about 3 of a typical
 * host's 9 MB/day were these index entries). tb_monitor_report_seen gets the same stored form. Every
 * time-range query on SQLite filters on `t` (series-time.ts) so the index is used.
 */
function sqliteIntegerTimeIndexes(): string[] {
  const out: string[] = [];
  for (const t of TIME_SERIES_TABLES) out.push(`DROP INDEX IF EXISTS ${t}_idx_rshost_a_time`, `CREATE INDEX IF NOT EXISTS ${t}_idx_rshost_t ON ${t} (rshost, t)`);
  out.push(
    `DROP INDEX IF EXISTS ${SEEN_TABLE}_idx_a_time`,
    `ALTER TABLE ${SEEN_TABLE} ADD COLUMN t INTEGER NOT NULL DEFAULT 1640995200`,
    `UPDATE ${SEEN_TABLE} SET t = COALESCE(unixepoch(a_time), 1640995200)`,
    `ALTER TABLE ${SEEN_TABLE} DROP COLUMN a_time`,
    `ALTER TABLE ${SEEN_TABLE} ADD COLUMN a_time TEXT GENERATED ALWAYS AS (datetime(t, 'unixepoch')) VIRTUAL`,
    `CREATE INDEX IF NOT EXISTS ${SEEN_TABLE}_idx_t ON ${SEEN_TABLE} (t)`,
  );
  return out;
}

/** Rewrites each time-series table: the stored columns added and filled, the old ones turned VIRTUAL. */
function sqliteCompactMigration(): string[] {
  const out: string[] = [];
  for (const t of TIME_SERIES_TABLES) {
    const index = `${t}_idx_rshost_a_time`;
    const cols = HUNDREDTHS[t];
    out.push(`DROP INDEX IF EXISTS ${index}`);
    // 1640995200 = the legacy default a_time, 2022-01-01 00:00:00
    out.push(`ALTER TABLE ${t} ADD COLUMN t INTEGER NOT NULL DEFAULT 1640995200`);
    for (const col of cols) out.push(`ALTER TABLE ${t} ADD COLUMN ${col}_x100 ANY NOT NULL DEFAULT 0`);
    const hundred = (col: string) => `${col}_x100 = CASE WHEN abs(${col}) < 1e13 THEN CAST(round(${col} * 100) AS INTEGER) ELSE ${col} * 100 END`;
    out.push(`UPDATE ${t} SET ${["t = COALESCE(unixepoch(a_time), 1640995200)", ...cols.map(hundred)].join(", ")}`);
    for (const col of ["a_time", ...cols]) out.push(`ALTER TABLE ${t} DROP COLUMN ${col}`);
    out.push(`ALTER TABLE ${t} ADD COLUMN a_time TEXT GENERATED ALWAYS AS (datetime(t, 'unixepoch')) VIRTUAL`);
    for (const col of cols) out.push(`ALTER TABLE ${t} ADD COLUMN ${col} REAL GENERATED ALWAYS AS (${col}_x100 / 100.0) VIRTUAL`);
    out.push(`CREATE INDEX ${index} ON ${t} (rshost, a_time)`);
  }
  return out;
}

/**
 * Ordered forward migrations. Never edit an applied one: append a new version at the END, e.g.
 *   { version: 2, name: "host rollback flag",
 *     mysql: ["ALTER TABLE tb_monitor_host_config ADD COLUMN rollback_to varchar(64) NOT NULL DEFAULT ''"],
 *     sqlite: ["ALTER TABLE tb_monitor_host_config ADD COLUMN rollback_to TEXT NOT NULL DEFAULT ''"] },
 * Each statement must be safe to re-run after a crash half-way (MySQL DDL is not transactional):
 * CREATE ... IF NOT EXISTS, and migrate() tolerates "duplicate column/key" on ALTER ... ADD.
 * Then regenerate init/init.sql: UPDATE_INIT_SQL=1 bun test test/integration/store/schema.test.ts
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "legacy tables with pmon columns",
    mysql: TABLES_V1.map(mysqlCreate),
    sqlite: TABLES_V1.flatMap(sqliteCreate),
  },
  {
    // 1 = pmon installed the agent over ssh (upgrades redeploy it, removal goes over ssh); 0 = another
    // tool did (`pmon enroll --no-deploy`): pmon only holds its secret. Default 1 so an SQL insert
    // with istate 1 is still deployed.
    version: 2,
    name: "host deployed_by_pmon flag",
    mysql: ["ALTER TABLE `tb_monitor_host_config` ADD COLUMN `deployed_by_pmon` tinyint NOT NULL DEFAULT '1'"],
    sqlite: ["ALTER TABLE tb_monitor_host_config ADD COLUMN deployed_by_pmon INTEGER NOT NULL DEFAULT 1"],
  },
  {
    // 1 = the process ended during the sample window: its figures come from the kernel's exit record
    // (rss 0, threads 0). Rows of older agents are 0.
    version: 3,
    name: "process exited flag",
    ...addColumn("tb_monitor_process_io_info", PROCESS_EXITED),
  },
  {
    version: 4,
    name: "alert log",
    mysql: [mysqlCreate(ALERT_LOG_TABLE)],
    sqlite: sqliteCreate(ALERT_LOG_TABLE),
  },
  {
    // Measured with bench/ingest-db.ts: these rows compress past 4:1, so at 8 KB the 16 KB logical
    // page filled first and half of each compressed page stayed empty; at 4 KB a busy host takes
    // 7.0 -> 5.1 MB/day. Rebuilds each table once (TiDB ignores the options).
    version: 5,
    name: "compressed pages of 4 KB",
    mysql: [...TIME_SERIES_TABLES, "tb_monitor_report_seen"].filter((t) => t !== "tb_monitor_process_io_info").map((t) => `ALTER TABLE \`${t}\` ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4`),
    sqlite: [],
  },
  {
    // md5_str (32 hex characters, in every process row) is kept as 16 bytes and read back through a
    // VIRTUAL column of the same name and text, so the old dashboard's join on md5_str still works.
    // A value that is not an md5 in hex (pmon and the old tool never wrote one) becomes ''.
    version: 6,
    name: "process md5 as 16 bytes",
    mysql: [
      ...addColumn("tb_monitor_process_io_info", PROCESS_MD5).mysql,
      "UPDATE `tb_monitor_process_io_info` SET `md5` = COALESCE(UNHEX(`md5_str`), '') WHERE `md5` = '' AND `md5_str` <> ''",
      // one statement: a crash cannot leave the table without md5_str
      "ALTER TABLE `tb_monitor_process_io_info` DROP COLUMN `md5_str`, ADD COLUMN `md5_str` char(32) CHARACTER SET ascii GENERATED ALWAYS AS (LOWER(HEX(`md5`))) VIRTUAL",
    ],
    sqlite: [
      ...addColumn("tb_monitor_process_io_info", PROCESS_MD5).sqlite,
      "UPDATE tb_monitor_process_io_info SET md5 = COALESCE(unhex(md5_str), x'') WHERE md5_str <> ''",
      "ALTER TABLE tb_monitor_process_io_info DROP COLUMN md5_str",
      "ALTER TABLE tb_monitor_process_io_info ADD COLUMN md5_str TEXT GENERATED ALWAYS AS (lower(hex(md5))) VIRTUAL",
    ],
  },
  {
    version: 7,
    name: "sqlite: a_time and rates stored compact",
    mysql: [],
    sqlite: sqliteCompactMigration(),
  },
  {
    version: 8,
    name: "sqlite: indexes on the integer time",
    mysql: [],
    sqlite: sqliteIntegerTimeIndexes(),
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Each table's columns with their MySQL type (the stricter dialect), for checking values before they are written. */
export const COLUMN_TYPES: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map(
  [...TABLES_V1, ALERT_LOG_TABLE].map((t) => [t.name, new Map([...t.columns, ...ADDED_COLUMNS.filter(([table]) => table === t.name).map(([, col]) => col)].map((col) => [col.name, col.mysql]))]),
);

/** Every table pmon creates (for tests and tools). */
export const TABLES: readonly string[] = [...TABLES_V1, ALERT_LOG_TABLE].map((t) => t.name);

export const VERSION_DDL: Record<Dialect, string> = {
  mysql:
    `CREATE TABLE IF NOT EXISTS \`${VERSION_TABLE}\` (\n  \`version\` int NOT NULL,\n  \`name\` varchar(255) NOT NULL DEFAULT '',\n` +
    `  \`applied_at\` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',\n  PRIMARY KEY (\`version\`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  sqlite: `CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (\n  version INTEGER PRIMARY KEY,\n  name TEXT NOT NULL DEFAULT '',\n  applied_at TEXT NOT NULL DEFAULT '2022-01-01 00:00:00'\n) STRICT`,
};

/** The MySQL DDL of every migration plus their version rows: the content of init/init.sql. */
export function mysqlInitSql(): string {
  const out = [
    "-- pmon schema for MySQL 5.7/8.x, MariaDB 10.5+ and TiDB. GENERATED from src/store/schema.ts:",
    "-- do not edit by hand (UPDATE_INIT_SQL=1 bun test test/integration/store/schema.test.ts rewrites it).",
    "-- `pmon server` creates and migrates the same schema itself; this file is for DBAs who create it by hand:",
    "--   CREATE DATABASE dbzz_monitor DEFAULT CHARACTER SET utf8mb4; USE dbzz_monitor; SOURCE init.sql;",
    "",
    VERSION_DDL.mysql + ";",
    "",
  ];
  for (const m of MIGRATIONS) {
    out.push(`-- migration ${m.version}: ${m.name}`);
    for (const sql of m.mysql) out.push(sql + ";", "");
    out.push(`INSERT IGNORE INTO \`${VERSION_TABLE}\` (\`version\`, \`name\`, \`applied_at\`) VALUES (${m.version}, '${m.name.replace(/'/g, "''")}', UTC_TIMESTAMP());`, "");
  }
  return out.join("\n");
}

/** Splits init.sql into statements (statements end with ";" at the end of a line; no ";" inside strings at line ends). */
export function splitSqlStatements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
    .filter(Boolean);
}
