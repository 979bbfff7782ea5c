// One small SQL interface over MySQL/MariaDB (mysql2) and SQLite (bun:sqlite), so every query in
// src/store/ is written once. Placeholders are `?` in both; times are UTC 'YYYY-MM-DD HH:MM:SS' strings.
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { privateFile, tightenIfPresent } from "../util/private-files.ts";
import { dirname } from "node:path";
import mysql from "mysql2/promise";

export type Row = Record<string, unknown>;
export type Dialect = "mysql" | "sqlite";

export interface Db {
  readonly dialect: Dialect;
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  exec(sql: string, params?: readonly unknown[]): Promise<{ affectedRows: number; insertId: number }>;
  /** runs fn on one connection inside BEGIN/COMMIT; rolls back when fn throws */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The store could not be reached or failed; the server answers 503 so agents keep their reports. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/** `mysql://user:pass@host:port/db` or `sqlite:PATH` (PATH may be `:memory:`). */
export function openDb(url: string): Db {
  if (url.startsWith("sqlite:")) return openSqlite(url.slice("sqlite:".length));
  if (url.startsWith("mysql://")) return openMysql(url);
  throw new Error(`unsupported storage URL "${redactUrl(url)}": expected mysql://user:pass@host:port/db or sqlite:PATH`);
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");
}

/** 'YYYY-MM-DD HH:MM:SS' in UTC: the a_time format of every table. */
export function sqlTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** Inverse of sqlTime. */
export function fromSqlTime(s: string | Date): number {
  if (s instanceof Date) return s.getTime();
  return Date.parse(s.replace(" ", "T") + "Z");
}

/** "(?,?,?),(?,?,?)" for a multi-row insert of `rows` rows of `cols` columns. */
export function valuesPlaceholders(rows: number, cols: number): string {
  const one = `(${Array(cols).fill("?").join(",")})`;
  return Array(rows).fill(one).join(",");
}

function openMysql(url: string): Db {
  const u = new URL(url);
  const pool = mysql.createPool({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.replace(/^\//, ""),
    ...(u.searchParams.get("socket") ? { socketPath: u.searchParams.get("socket")! } : {}),
    connectionLimit: Number(u.searchParams.get("pool") ?? 10),
    connectTimeout: 5000,
    timezone: "Z",
    dateStrings: true,
    decimalNumbers: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    multipleStatements: false,
    waitForConnections: true,
    queueLimit: 0,
    // true (the default) captures a stack trace for every query: a measurable share of the server's CPU per
    // report; errors keep their message and code, which is what the store reports
    trace: false,
  });
  const wrap = (conn: mysql.Pool | mysql.PoolConnection): Db => ({
    dialect: "mysql",
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const [rows] = await guard(() => conn.query(sql, params as unknown[]));
      return rows as T[];
    },
    async exec(sql: string, params: readonly unknown[] = []) {
      const [res] = await guard(() => conn.query(sql, params as unknown[]));
      const r = res as mysql.ResultSetHeader;
      return { affectedRows: r.affectedRows ?? 0, insertId: Number(r.insertId ?? 0) };
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      if (conn !== pool) return fn(wrap(conn));
      const c = await guard(() => pool.getConnection());
      try {
        await c.beginTransaction();
        const out = await fn(wrap(c));
        await c.commit();
        return out;
      } catch (e) {
        await c.rollback().catch(() => {});
        throw e;
      } finally {
        c.release();
      }
    },
    async close() {
      if (conn === pool) await pool.end();
    },
  });
  return wrap(pool);
}

const UNAVAILABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "PROTOCOL_CONNECTION_LOST", "ER_CON_COUNT_ERROR", "EHOSTUNREACH", "ENOENT"]);

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code && (UNAVAILABLE.has(code) || (e as { fatal?: boolean }).fatal)) throw new StoreUnavailableError(`database unavailable: ${code}`, { cause: e });
    throw e;
  }
}

function openSqlite(path: string): Db {
  if (path !== ":memory:") {
    // SQLite gives -wal and -shm the database file's mode, so a 0600 database keeps all three private.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    privateFile(path);
    tightenIfPresent(`${path}-wal`);
    tightenIfPresent(`${path}-shm`);
  }
  const db = new Database(path, { create: true, strict: true });
  // busy_timeout first: switching to WAL needs a lock another process opening the file may hold.
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  // One connection, so transactions are serialised: each waits for the previous one to end, and only
  // the handle passed to its fn runs inside it. A concurrent caller can never join another caller's
  // transaction (and lose its rows when that one rolls back).
  let queue: Promise<unknown> = Promise.resolve();
  let inTx = false;
  const run = async <T>(sql: string, params: readonly unknown[], how: "all" | "run") => {
    const stmt = db.query(sql);
    return (how === "all" ? stmt.all(...(params as never[])) : stmt.run(...(params as never[]))) as T;
  };
  const query = async <T>(sql: string, params: readonly unknown[] = []) => run<T[]>(sql, params, "all");
  const exec = async (sql: string, params: readonly unknown[] = []) => {
    const r = await run<{ changes: number; lastInsertRowid: number | bigint }>(sql, params, "run");
    return { affectedRows: r.changes, insertId: Number(r.lastInsertRowid) };
  };
  const transaction = <T>(fn: (tx: Db) => Promise<T>): Promise<T> => {
    const body = async () => {
      let open = true;
      const check = () => {
        if (!open) throw new Error("transaction handle used after its transaction ended");
      };
      const tx: Db = {
        dialect: "sqlite",
        query: async (sql, params) => (check(), query(sql, params)),
        exec: async (sql, params) => (check(), exec(sql, params)),
        // nested: already inside this transaction
        transaction: (inner) => (check(), inner(tx)),
        close: async () => {
          throw new Error("cannot close the store from inside a transaction");
        },
      };
      inTx = true;
      db.exec("BEGIN IMMEDIATE");
      try {
        const out = await fn(tx);
        db.exec("COMMIT");
        return out;
      } catch (e) {
        db.exec("ROLLBACK");
        throw e;
      } finally {
        open = false;
        inTx = false;
      }
    };
    const p = queue.then(body, body);
    queue = p.catch(() => {});
    return p;
  };
  // Outside a transaction, statements wait for a running transaction to end (they would join it).
  return {
    dialect: "sqlite",
    query: (sql, params) => (inTx ? queue.then(() => query(sql, params)) : query(sql, params)),
    exec: (sql, params) => (inTx ? queue.then(() => exec(sql, params)) : exec(sql, params)),
    transaction,
    async close() {
      await queue;
      db.close();
    },
  } as Db;
}
