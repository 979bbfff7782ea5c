// In-place migration of a database the old Python tool created (same table names, older columns, no
// partitions). migrate() calls recogniseSchema() before its own migrations: an old database is
// converged to pmon's first schema step by step, each step checked against information_schema first,
// so an interrupted migration resumes where it stopped. Every old row and id is kept. A database
// whose tb_monitor_* tables match neither the old tool nor pmon is refused before anything changes.
//
// Only MySQL-family DDL that MySQL 5.7, MySQL 8 and MariaDB all accept (no ADD COLUMN IF NOT EXISTS):
// the checks replace IF NOT EXISTS. The old tool's JSON columns are `json` on MySQL and LONGTEXT
// (MariaDB's json alias) on MariaDB; both are accepted as they are.
import type { Db } from "./db.ts";
import { sqlTime } from "./db.ts";
import { DAYS_AHEAD, partitionName, toDays } from "./retention.ts";
import { MIGRATIONS, TABLES_V1, TIME_SERIES_TABLES, VERSION_TABLE, type TableDef } from "./schema.ts";

/** Tables below this many rows are partitioned during the migration; bigger ones wait for `pmon migrate --partition`. */
export const PARTITION_NOW_MAX_ROWS = 1_000_000;
/** rows per UPDATE / copy batch */
export const LEGACY_BATCH = 20_000;

type Family = "int" | "num" | "str" | "text" | "json" | "time";

/** The old tool's tables and the columns pmon relies on, by type family. */
export const LEGACY_TABLES: Record<string, Record<string, Family>> = {
  tb_monitor_host_config: { id: "int", rshost: "str", istate: "int" },
  tb_monitor_host_info: { id: "int", rshost: "str", cpu_info: "json", mem_info: "json", io_info: "json", net: "json", a_time: "time" },
  tb_monitor_disk_info: { id: "int", rshost: "str", part: "str", disk_info: "json", a_time: "time" },
  tb_monitor_disk_util_qu_info: { id: "int", rshost: "str", dev: "str", avgqu: "num", util: "num", a_time: "time" },
  tb_monitor_port_net_info: { id: "int", rsinfo: "str", remote: "str", in_info: "num", out_info: "num", a_time: "time" },
  tb_monitor_process_info: { id: "int", md5_str: "str", remarks: "text" },
  tb_monitor_process_io_info: { id: "int", rshost: "str", rsport: "int", cpu: "num", mem: "num", io_r: "num", io_w: "num", a_time: "time", md5_str: "str", remarks: "text" },
  tb_monitor_alert_info: { id: "int", rshost: "str", istate: "int", a_time: "time", remarks: "str" },
  tb_monitor_version: { id: "int", version: "str", a_time: "time" },
};

const FAMILY_TYPES: Record<Family, string[]> = {
  int: ["tinyint", "smallint", "mediumint", "int", "bigint"],
  num: ["tinyint", "smallint", "mediumint", "int", "bigint", "float", "double", "decimal"],
  str: ["char", "varchar"],
  text: ["text", "mediumtext", "longtext", "varchar"],
  json: ["json", "longtext", "text", "mediumtext"],
  time: ["datetime", "timestamp"],
};

/** The schema could not be recognised; nothing was changed. */
export class UnknownSchemaError extends Error {
  override name = "UnknownSchemaError";
}

interface ColumnInfo {
  table: string;
  name: string;
  dataType: string;
  columnType: string;
  charset: string | null;
  extra: string;
}

interface Snapshot {
  tables: Set<string>;
  columns: Map<string, Map<string, ColumnInfo>>;
  /** index name -> columns in order, per table */
  indexes: Map<string, Map<string, string[]>>;
  partitioned: Set<string>;
}

export interface LegacyStep {
  table: string;
  what: string;
}

export interface Recognition {
  /** fresh: no tables of pmon or the old tool; pmon: nothing to converge; legacy: the old tool's tables need migrating */
  kind: "fresh" | "pmon" | "legacy";
  /** tables of the old tool found (legacy only) */
  tables: string[];
  /** rows per legacy table, counted up to PARTITION_NOW_MAX_ROWS + 1 */
  rows: Record<string, number>;
}

export interface LegacyResult {
  steps: LegacyStep[];
  /** tables too big to partition now (kept on batched-delete retention) */
  unpartitioned: string[];
  /** old hosts held until enrolled or adopted */
  heldHosts: number;
}

/** important: worth an info line (percentages of long steps); the rest is debug detail */
export type Progress = (message: string, important?: boolean) => void;

/** The one log line saying an old database was recognised and migrated. */
export function describeLegacyMigration(l: { found: Recognition; result: LegacyResult }): string {
  const rows = Object.values(l.found.rows).reduce((a, b) => a + b, 0);
  return (
    `the database held the old tool's schema (${l.found.tables.length} tables, ${rows >= PARTITION_NOW_MAX_ROWS ? "over " : ""}${rows} rows): ` +
    `migrated in place with every row kept (${l.result.steps.length} steps); ${l.result.heldHosts} old host(s) wait for \`pmon enroll\` or server.adopt_legacy_hosts`
  );
}

async function snapshot(db: Db): Promise<Snapshot> {
  const cols = await db.query<{ t: string; c: string; dt: string; ct: string; cs: string | null; ex: string | null }>(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS dt, COLUMN_TYPE AS ct, CHARACTER_SET_NAME AS cs, EXTRA AS ex
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'tb\\_monitor\\_%' ORDER BY TABLE_NAME, ORDINAL_POSITION`,
  );
  const idx = await db.query<{ t: string; i: string; c: string }>(
    `SELECT TABLE_NAME AS t, INDEX_NAME AS i, COLUMN_NAME AS c FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'tb\\_monitor\\_%' ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
  );
  const parts = await db.query<{ t: string }>(
    `SELECT DISTINCT TABLE_NAME AS t FROM information_schema.PARTITIONS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'tb\\_monitor\\_%' AND PARTITION_NAME IS NOT NULL`,
  );
  const s: Snapshot = { tables: new Set(), columns: new Map(), indexes: new Map(), partitioned: new Set(parts.map((p) => String(p.t))) };
  for (const r of cols) {
    const t = String(r.t);
    s.tables.add(t);
    if (!s.columns.has(t)) s.columns.set(t, new Map());
    s.columns.get(t)!.set(String(r.c), { table: t, name: String(r.c), dataType: String(r.dt).toLowerCase(), columnType: String(r.ct).toLowerCase(), charset: r.cs, extra: String(r.ex ?? "").toLowerCase() });
  }
  for (const r of idx) {
    const t = String(r.t);
    if (!s.indexes.has(t)) s.indexes.set(t, new Map());
    const m = s.indexes.get(t)!;
    m.set(String(r.i), [...(m.get(String(r.i)) ?? []), String(r.c)]);
  }
  return s;
}

/** Column names later migrations add with ALTER TABLE ... ADD COLUMN, per table. */
function laterColumns(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of MIGRATIONS.slice(1)) {
    for (const sql of m.mysql) {
      const table = /ALTER\s+TABLE\s+`?(\w+)`?/i.exec(sql)?.[1];
      if (!table) continue;
      for (const c of sql.matchAll(/ADD\s+COLUMN\s+`?(\w+)`?/gi)) {
        if (!out.has(table)) out.set(table, new Set());
        out.get(table)!.add(c[1]!);
      }
    }
  }
  return out;
}

const defOf = (name: string): TableDef | undefined => TABLES_V1.find((t) => t.name === name);

/** Checks every tb_monitor_* table is one the old tool or pmon creates; throws UnknownSchemaError otherwise. */
function checkKnown(s: Snapshot): void {
  const later = laterColumns();
  const problems: string[] = [];
  for (const t of s.tables) {
    if (t === VERSION_TABLE || t.endsWith(PARTITION_COPY_SUFFIX) || t.endsWith(PARTITION_OLD_SUFFIX)) continue;
    const legacy = LEGACY_TABLES[t];
    const def = defOf(t);
    if (!legacy && !def) {
      problems.push(`table ${t} is not one pmon or the old tool creates`);
      continue;
    }
    const cols = s.columns.get(t)!;
    const known = new Set([...Object.keys(legacy ?? {}), ...(def?.columns.map((c) => c.name) ?? []), ...(later.get(t) ?? [])]);
    for (const c of cols.keys()) if (!known.has(c)) problems.push(`${t}.${c} is an unknown column`);
    for (const [c, fam] of Object.entries(legacy ?? {})) {
      const have = cols.get(c);
      // pmon replaces rsport and mem with generated columns; a half-migrated table may lack them for a moment
      if (!have) {
        if (!def?.columns.some((d) => d.name === c)) problems.push(`${t}.${c} is missing`);
        continue;
      }
      if (!FAMILY_TYPES[fam].includes(have.dataType)) problems.push(`${t}.${c} has type ${have.columnType}, expected ${fam}`);
    }
  }
  if (problems.length) {
    throw new UnknownSchemaError(
      `the database holds tb_monitor_* tables pmon does not recognise (neither the old tool's nor pmon's), so nothing was changed: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? `; and ${problems.length - 5} more` : ""}. Point server.storage at an empty database or at the old tool's database.`,
    );
  }
}

/** The old tool's tell-tale: its host list without pmon's columns (also after an older pmon recorded versions on it). */
function hasLegacyTraits(s: Snapshot): boolean {
  for (const t of Object.keys(LEGACY_TABLES)) {
    if (!s.tables.has(t)) continue;
    const def = defOf(t)!;
    const cols = s.columns.get(t)!;
    if (def.columns.some((c) => !cols.has(c.name))) return true;
    if (t === "tb_monitor_process_io_info" && !cols.get("rsport")?.extra.includes("generated")) return true;
  }
  return false;
}

/** MySQL only. Reads information_schema and decides; throws UnknownSchemaError for a schema it does not know. */
export async function recogniseSchema(db: Db, versionRows: number): Promise<Recognition> {
  const s = await snapshot(db);
  const ours = [...s.tables].filter((t) => t !== VERSION_TABLE);
  if (ours.length === 0) return { kind: "fresh", tables: [], rows: {} };
  // A database pmon migrated before is trusted, unless it still holds the old tool's tables unchanged.
  if (versionRows > 0 && !hasLegacyTraits(s)) return { kind: "pmon", tables: [], rows: {} };
  checkKnown(s);
  // Without version rows the migration has not finished: an unpartitioned time series means it
  // stopped before or during the partition steps.
  const unfinished = versionRows === 0 && TIME_SERIES_TABLES.some((t) => s.tables.has(t) && LEGACY_TABLES[t] && !s.partitioned.has(t));
  if (!hasLegacyTraits(s) && !unfinished) return { kind: "pmon", tables: [], rows: {} };
  const tables = Object.keys(LEGACY_TABLES).filter((t) => s.tables.has(t));
  const rows: Record<string, number> = {};
  for (const t of tables) rows[t] = await boundedCount(db, t);
  return { kind: "legacy", tables, rows };
}

/** COUNT(*) that stops reading after PARTITION_NOW_MAX_ROWS + 1 rows. */
async function boundedCount(db: Db, table: string): Promise<number> {
  const [r] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM \`${table}\` LIMIT ${PARTITION_NOW_MAX_ROWS + 1}) x`);
  return Number(r?.n ?? 0);
}

// --- the old tool's hosts wait for the operator ---

/**
 * next_deploy_at of an old tool's host that pmon must leave alone: a deployment lease that never
 * expires (9999-12-31), so the fleet manager neither deploys nor removes it whatever its old istate
 * says, and deployed_by_pmon = 0 keeps upgrades away from it. `pmon enroll HOST` takes the row (and
 * the hold ends); server.adopt_legacy_hosts releases them all (adoptLegacyHosts).
 */
export const HELD_UNTIL = 253_402_300_799_000;

/** SQL condition: the host row is not held (for queries that act on or alert about hosts). */
export const NOT_HELD_SQL = `(next_deploy_at IS NULL OR next_deploy_at < ${HELD_UNTIL})`;

/** Whether a host row is an old tool's host still waiting for its pmon agent. */
export function isHeld(row: { next_deploy_at: number | string | null }): boolean {
  return row.next_deploy_at !== null && Number(row.next_deploy_at) >= HELD_UNTIL;
}

/**
 * server.adopt_legacy_hosts: pmon takes over every held host: istate 2 (the old client runs there)
 * and 1 are deployed with pmon's agent, 0 is removed. Returns how many hosts were released.
 */
export async function adoptLegacyHosts(db: Db, nowMs: number): Promise<number> {
  const r = await db.exec(
    "UPDATE tb_monitor_host_config SET istate = CASE WHEN istate = 2 THEN 1 ELSE istate END, deployed_by_pmon = 1, next_deploy_at = NULL, updated_at = ? WHERE next_deploy_at = ?",
    [sqlTime(nowMs), HELD_UNTIL],
  );
  return r.affectedRows;
}

// --- column types ---

/** "varchar(255) CHARACTER SET ascii NOT NULL DEFAULT ''" -> { type: "varchar(255)", charset: "ascii" } */
function expectedType(mysqlDef: string): { type: string; charset: string | null; generated: boolean } {
  const type = mysqlDef.split(/\s+(?:NOT\s+NULL|NULL|DEFAULT|CHARACTER\s+SET|COLLATE|GENERATED|AUTO_INCREMENT)\b/i)[0]!.trim().toLowerCase();
  const charset = /CHARACTER\s+SET\s+(\w+)/i.exec(mysqlDef)?.[1]?.toLowerCase() ?? null;
  return { type: normaliseType(type), charset, generated: /GENERATED/i.test(mysqlDef) };
}

function normaliseType(t: string): string {
  const s = t.toLowerCase().replace(/\b(tinyint|smallint|mediumint|int|bigint)\(\d+\)/g, "$1").trim();
  return s === "longtext" ? "json" : s; // MariaDB's json alias
}

function needsModify(have: ColumnInfo, def: string): boolean {
  const want = expectedType(def);
  if (want.generated) return false; // handled by replaceGenerated()
  if (normaliseType(have.columnType) !== want.type) {
    // a wider text type, or json on either side, is fine as it is
    if (want.type === "json" && FAMILY_TYPES.json.includes(have.dataType)) return false;
    return true;
  }
  return want.charset !== null && have.charset !== null && have.charset.toLowerCase() !== want.charset;
}

// --- the steps ---

const q = (name: string) => `\`${name}\``;
const PARTITION_COPY_SUFFIX = "__pmon_part";
const PARTITION_OLD_SUFFIX = "__pmon_old";

/**
 * Converges the old tool's tables to pmon's first schema. Call with the migration lock held.
 * Idempotent: every step looks at information_schema first.
 */
export interface LegacyOptions {
  progress?: Progress;
  /** tables with more rows stay unpartitioned (default PARTITION_NOW_MAX_ROWS) */
  partitionMaxRows?: number;
}

export async function migrateLegacy(db: Db, found: Recognition, nowMs: number, opts: LegacyOptions = {}): Promise<LegacyResult> {
  const progress = opts.progress ?? (() => {});
  const maxRows = opts.partitionMaxRows ?? PARTITION_NOW_MAX_ROWS;
  const result: LegacyResult = { steps: [], unpartitioned: [], heldHosts: 0 };
  const step = async (table: string, what: string, sql: string) => {
    progress(`${table}: ${what}`);
    await db.exec(sql);
    result.steps.push({ table, what });
  };
  let s = await snapshot(db);

  // 1. Hold the old hosts first, so even an interrupted migration never lets pmon deploy or remove them.
  if (s.tables.has("tb_monitor_host_config")) {
    const cols = s.columns.get("tb_monitor_host_config")!;
    const def = defOf("tb_monitor_host_config")!;
    const adds = def.columns.filter((c) => !cols.has(c.name)).map((c) => `ADD COLUMN ${q(c.name)} ${c.mysql}`);
    // migration 2 adds the same column; it is needed now to hold the old hosts
    if (!cols.has("deployed_by_pmon")) adds.push("ADD COLUMN `deployed_by_pmon` tinyint NOT NULL DEFAULT '1'");
    if (adds.length) {
      await step("tb_monitor_host_config", `add ${adds.length} column(s)`, `ALTER TABLE ${q("tb_monitor_host_config")} ${adds.join(", ")}`);
    }
    // The old tool's rows (no secret, created_at still the column default) are held: see HELD_UNTIL.
    await db.exec(
      "UPDATE `tb_monitor_host_config` SET deployed_by_pmon = 0, next_deploy_at = ?, created_at = ?, updated_at = ? WHERE secret_hash = '' AND created_at = '2022-01-01 00:00:00'",
      [HELD_UNTIL, sqlTime(nowMs), sqlTime(nowMs)],
    );
    const [held] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM `tb_monitor_host_config` WHERE next_deploy_at = ?", [HELD_UNTIL]);
    result.heldHosts = Number(held?.n ?? 0);
    s = await snapshot(db);
  }

  // 2. Columns, types and indexes of every old table, one ALTER per table.
  for (const table of found.tables) {
    const def = defOf(table)!;
    const cols = s.columns.get(table)!;
    const idx = s.indexes.get(table) ?? new Map<string, string[]>();
    const specs: string[] = [];
    for (const c of def.columns) {
      const have = cols.get(c.name);
      if (!have) {
        // generated columns come after their source columns are filled (step 3)
        if (!expectedType(c.mysql).generated) specs.push(`ADD COLUMN ${q(c.name)} ${c.mysql}`);
      } else if (c.name !== "id" && needsModify(have, c.mysql)) {
        specs.push(`MODIFY COLUMN ${q(c.name)} ${c.mysql}`);
      }
    }
    const wantIdx: [string, string[], boolean][] = [
      ...Object.entries(def.unique ?? {}).map(([n, c]) => [n, c, true] as [string, string[], boolean]),
      ...Object.entries(def.index ?? {}).map(([n, c]) => [n, c, false] as [string, string[], boolean]),
    ];
    for (const [name, columns, unique] of wantIdx) {
      const have = idx.get(name);
      if (have && have.join(",") === columns.join(",")) continue;
      if (have) specs.push(`DROP INDEX ${q(name)}`);
      specs.push(`ADD ${unique ? "UNIQUE " : ""}KEY ${q(name)} (${columns.map(q).join(", ")})`);
    }
    if (specs.length) await step(table, `${specs.length} column/index change(s)`, `ALTER TABLE ${q(table)} ${specs.join(", ")}`);
  }
  s = await snapshot(db);

  // 3. The process table: pid and rss_bytes from the old rsport (it held the pid) and mem (whole GB);
  //    then rsport and mem become the generated columns pmon writes through.
  if (found.tables.includes("tb_monitor_process_io_info")) {
    const cols = s.columns.get("tb_monitor_process_io_info")!;
    const rsportPlain = cols.has("rsport") && !cols.get("rsport")!.extra.includes("generated");
    const memPlain = cols.has("mem") && !cols.get("mem")!.extra.includes("generated");
    if (rsportPlain || memPlain) {
      const sets = [rsportPlain ? "pid = rsport" : "", memPlain ? "rss_bytes = ROUND(mem * 1073741824)" : ""].filter(Boolean).join(", ");
      await batchedById(db, "tb_monitor_process_io_info", `UPDATE \`tb_monitor_process_io_info\` SET ${sets} WHERE id >= ? AND id < ?`, progress, "copy the pid from rsport and memory from mem");
      const def = defOf("tb_monitor_process_io_info")!;
      const specs: string[] = [];
      const idx = s.indexes.get("tb_monitor_process_io_info") ?? new Map<string, string[]>();
      for (const [name, columns] of idx) if (name !== "PRIMARY" && (columns.includes("rsport") || columns.includes("mem"))) specs.push(`DROP INDEX ${q(name)}`);
      for (const name of ["rsport", "mem"]) {
        if (!(name === "rsport" ? rsportPlain : memPlain)) continue;
        specs.push(`DROP COLUMN ${q(name)}`, `ADD COLUMN ${q(name)} ${def.columns.find((c) => c.name === name)!.mysql}`);
      }
      await step("tb_monitor_process_io_info", "rsport and mem become generated from pid and rss_bytes", `ALTER TABLE \`tb_monitor_process_io_info\` ${specs.join(", ")}`);
    }
    for (const c of defOf("tb_monitor_process_io_info")!.columns) {
      if (!cols.has(c.name) && expectedType(c.mysql).generated && c.name !== "rsport" && c.name !== "mem") {
        await step("tb_monitor_process_io_info", `add ${c.name}`, `ALTER TABLE \`tb_monitor_process_io_info\` ADD COLUMN ${q(c.name)} ${c.mysql}`);
      }
    }
  }

  // 4. Old rows get the values pmon's own queries read, derived from what the old tool stored.
  if (found.tables.includes("tb_monitor_process_info")) {
    // The dictionary is pruned by a_time: old entries count as used now, so they live as long as the
    // old history that joins them. comm = the program name of the command line.
    await batchedById(
      db,
      "tb_monitor_process_info",
      "UPDATE `tb_monitor_process_info` SET a_time = ?, comm = LEFT(SUBSTRING_INDEX(SUBSTRING_INDEX(TRIM(COALESCE(remarks, '')), ' ', 1), '/', -1), 64) WHERE id >= ? AND id < ? AND a_time = '2022-01-01 00:00:00'",
      progress,
      "command names",
      [sqlTime(nowMs)],
    );
  }
  if (found.tables.includes("tb_monitor_disk_info")) {
    // sizes were whole GB (GiB) in the JSON document; the old tool knew the device, not the mount point
    const gb = (key: string) => `COALESCE(CAST(JSON_UNQUOTE(JSON_EXTRACT(disk_info, '$.${key}')) AS DECIMAL(20,3)), 0) * 1073741824`;
    await batchedById(
      db,
      "tb_monitor_disk_info",
      `UPDATE \`tb_monitor_disk_info\` SET total_bytes = ${gb("total")}, used_bytes = ${gb("used")}, free_bytes = ${gb("free")}, mount = IF(mount = '', part, mount) WHERE id >= ? AND id < ? AND total_bytes = 0 AND disk_info IS NOT NULL`,
      progress,
      "disk sizes in bytes",
    );
  }
  if (found.tables.includes("tb_monitor_port_net_info")) {
    // the old rows had no host column; their local address is the host's
    await batchedById(
      db,
      "tb_monitor_port_net_info",
      "UPDATE `tb_monitor_port_net_info` SET rshost = LEFT(SUBSTRING_INDEX(rsinfo, ':', 1), 255) WHERE id >= ? AND id < ? AND rshost = ''",
      progress,
      "host of each connection",
    );
  }

  // 5. Daily partitions for the time series that are small enough to rebuild now.
  s = await snapshot(db);
  for (const table of TIME_SERIES_TABLES) {
    if (!found.tables.includes(table) || s.partitioned.has(table)) continue;
    if ((found.rows[table] ?? 0) > maxRows) {
      result.unpartitioned.push(table);
      continue;
    }
    await partitionInPlace(db, table, s, nowMs, step);
  }
  return result;
}

/** Runs `sql` (with ? ? = [from, to) of ids) over the whole table in id batches, with progress. */
async function batchedById(db: Db, table: string, sql: string, progress: Progress, what: string, leading: unknown[] = []): Promise<void> {
  const [r] = await db.query<{ lo: number | null; hi: number | null }>(`SELECT MIN(id) AS lo, MAX(id) AS hi FROM ${q(table)}`);
  if (r?.lo === null || r?.lo === undefined) return;
  const lo = Number(r.lo);
  const hi = Number(r.hi);
  const total = hi - lo + 1;
  let lastShown = 0;
  for (let from = lo; from <= hi; from += LEGACY_BATCH) {
    await db.exec(sql, [...leading, from, from + LEGACY_BATCH]);
    const done = Math.min(hi, from + LEGACY_BATCH - 1) - lo + 1;
    const pct = Math.floor((done * 100) / total);
    if (total > LEGACY_BATCH * 5 && pct >= lastShown + 10) {
      progress(`${table}: ${what}: ${pct} % (ids ${lo}..${hi})`, true);
      lastShown = pct;
    }
  }
}

/** The PARTITION BY clause: one partition per day from the oldest row's day to DAYS_AHEAD after today. */
function partitionClause(oldestMs: number | null, nowMs: number): string {
  const today = toDays(nowMs);
  // at most ~400 daily partitions: anything older shares the first one until retention drops it
  const first = Math.max(oldestMs === null ? today : toDays(oldestMs), today - 400);
  const defs: string[] = [];
  for (let d = first; d <= today + DAYS_AHEAD; d++) defs.push(`PARTITION ${partitionName(d)} VALUES LESS THAN (${d + 1})`);
  defs.push("PARTITION pmax VALUES LESS THAN MAXVALUE");
  return `PARTITION BY RANGE (TO_DAYS(\`a_time\`)) (${defs.join(", ")})`;
}

async function oldestRowMs(db: Db, table: string): Promise<number | null> {
  const [r] = await db.query<{ t: string | null }>(`SELECT MIN(a_time) AS t FROM ${q(table)}`);
  return r?.t ? Date.parse(String(r.t).replace(" ", "T") + "Z") : null;
}

async function partitionInPlace(db: Db, table: string, s: Snapshot, nowMs: number, step: (t: string, what: string, sql: string) => Promise<void>): Promise<void> {
  const pk = s.indexes.get(table)?.get("PRIMARY") ?? [];
  // Every unique key of a partitioned table must contain the partitioning column.
  if (pk.join(",") !== "id,a_time") await step(table, "primary key (id, a_time)", `ALTER TABLE ${q(table)} DROP PRIMARY KEY, ADD PRIMARY KEY (\`id\`, \`a_time\`)`);
  await step(table, "daily partitions", `ALTER TABLE ${q(table)} ${partitionClause(await oldestRowMs(db, table), nowMs)}`);
}

// --- pmon migrate --partition: big tables, copied in batches with progress ---

export interface PartitionResult {
  table: string;
  rows: number;
  /** already partitioned: nothing done */
  skipped: boolean;
}

/**
 * Converts the unpartitioned time-series tables to daily partitions by copying each into a partitioned
 * twin in id batches (progress per 10 %), then swapping the two with one atomic RENAME. Reports that
 * arrive meanwhile land in the old table and are copied after the swap. Resumable: an interrupted copy
 * continues from the twin's highest id. Holds the migration lock.
 */
export async function partitionBigTables(db: Db, nowMs: number, progress: Progress): Promise<PartitionResult[]> {
  if (db.dialect !== "mysql") throw new Error("only MySQL-family databases are partitioned (SQLite needs nothing)");
  return db.transaction(async (tx) => {
    const [lock] = await tx.query<{ ok: number | null }>("SELECT GET_LOCK(CONCAT('pmon_migrate:', DATABASE()), 120) AS ok");
    if (lock?.ok !== 1) throw new Error("could not take the schema migration lock within 120 s (a pmon server is migrating?)");
    try {
      const out: PartitionResult[] = [];
      for (const table of TIME_SERIES_TABLES) {
        const s = await snapshot(tx);
        if (!s.tables.has(table)) continue;
        if (s.partitioned.has(table) && s.tables.has(table + PARTITION_OLD_SUFFIX)) {
          // interrupted right after the swap: copy what is missing, then drop the old table
          out.push({ table, rows: await finishSwap(tx, table, 0, storedColumns(s, table), progress), skipped: false });
          continue;
        }
        if (s.partitioned.has(table)) {
          out.push({ table, rows: 0, skipped: true });
          continue;
        }
        out.push({ table, rows: await copyIntoPartitioned(tx, table, s, nowMs, progress), skipped: false });
      }
      return out;
    } finally {
      await tx.query("SELECT RELEASE_LOCK(CONCAT('pmon_migrate:', DATABASE()))").catch(() => {});
    }
  });
}

async function copyIntoPartitioned(db: Db, table: string, s: Snapshot, nowMs: number, progress: Progress): Promise<number> {
  const twin = table + PARTITION_COPY_SUFFIX;
  const stored = storedColumns(s, table);
  if (!s.tables.has(twin)) {
    progress(`${table}: creating the partitioned copy ${twin}`);
    await db.exec(`CREATE TABLE ${q(twin)} LIKE ${q(table)}`);
    const pk = s.indexes.get(table)?.get("PRIMARY") ?? [];
    if (pk.join(",") !== "id,a_time") await db.exec(`ALTER TABLE ${q(twin)} DROP PRIMARY KEY, ADD PRIMARY KEY (\`id\`, \`a_time\`)`);
    await db.exec(`ALTER TABLE ${q(twin)} ${partitionClause(await oldestRowMs(db, table), nowMs)}`);
  } else {
    progress(`${table}: resuming the copy into ${twin}`);
  }
  const [r] = await db.query<{ hi: number | null; n: number }>(`SELECT MAX(id) AS hi, COUNT(*) AS n FROM ${q(table)}`);
  const hi = Number(r?.hi ?? 0);
  const total = Number(r?.n ?? 0);
  const [c] = await db.query<{ hi: number | null; n: number }>(`SELECT MAX(id) AS hi, COUNT(*) AS n FROM ${q(twin)}`);
  let from = Number(c?.hi ?? 0);
  let done = Number(c?.n ?? 0);
  let lastShown = -10;
  while (from < hi) {
    const to = Math.min(hi, from + LEGACY_BATCH);
    done += (await db.exec(`INSERT IGNORE INTO ${q(twin)} (${stored}) SELECT ${stored} FROM ${q(table)} WHERE id > ? AND id <= ?`, [from, to])).affectedRows;
    from = to;
    const pct = total ? Math.floor((done * 100) / total) : 100;
    if (pct >= lastShown + 10) {
      progress(`${table}: ${done} of ${total} rows copied (${pct} %)`, true);
      lastShown = pct;
    }
  }
  // New reports keep their ids above anything the old table handed out, so the swap never collides.
  const [ai] = await db.query<{ a: number | null }>(
    "SELECT AUTO_INCREMENT AS a FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [table],
  );
  await db.exec(`ALTER TABLE ${q(twin)} AUTO_INCREMENT = ${Math.max(Number(ai?.a ?? 0), hi + 1) + 100_000}`);
  await db.exec(`RENAME TABLE ${q(table)} TO ${q(table + PARTITION_OLD_SUFFIX)}, ${q(twin)} TO ${q(table)}`);
  return finishSwap(db, table, from, stored, progress);
}

function storedColumns(s: Snapshot, table: string): string {
  return [...s.columns.get(table)!.values()].filter((c) => !c.extra.includes("generated")).map((c) => q(c.name)).join(", ");
}

/** After the swap: the rows the old table got after the copy (ids above `from`), a count check, then the old table goes. */
async function finishSwap(db: Db, table: string, from: number, stored: string, progress: Progress): Promise<number> {
  const old = table + PARTITION_OLD_SUFFIX;
  await db.exec(`INSERT IGNORE INTO ${q(table)} (${stored}) SELECT ${stored} FROM ${q(old)} WHERE id > ?`, [from]);
  const [a] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${q(old)}`);
  const [b] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${q(table)} WHERE id <= (SELECT MAX(id) FROM ${q(old)})`);
  if (Number(a?.n) !== Number(b?.n)) throw new Error(`${table}: ${a?.n} rows in ${old} but ${b?.n} copied; ${old} is kept, nothing was deleted`);
  await db.exec(`DROP TABLE ${q(old)}`);
  progress(`${table}: partitioned by day (${b?.n} rows)`, true);
  return Number(b?.n ?? 0);
}
