// Opens the server's store from config: server.storage, or SQLite in server.data_dir when empty,
// and brings the schema up to date before anything else touches it.
import { join } from "node:path";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { openDb, redactUrl, type Db } from "./db.ts";
import { describeLegacyMigration, PARTITION_NOW_MAX_ROWS } from "./legacy.ts";
import { migrate } from "./schema.ts";

/** The storage URL the server uses: `server.storage`, or `sqlite:<data_dir>/pmon.db` when unset. */
export function storageUrl(server: Pick<ResolvedConfig["server"], "storage" | "data_dir">): string {
  return server.storage.trim() || `sqlite:${join(server.data_dir, "pmon.db")}`;
}

export async function openStore(server: Pick<ResolvedConfig["server"], "storage" | "data_dir">, log: Logger): Promise<Db> {
  const slog = log.withTag("store");
  const url = storageUrl(server);
  const db = openDb(url);
  try {
    const r = await migrate(db, Date.now(), { progress: (message, important) => (important ? slog.info(message) : slog.debug(message)) });
    if (r.legacy) slog.info(describeLegacyMigration(r.legacy));
    if (r.legacy?.result.unpartitioned.length) {
      slog.warn(`${r.legacy.result.unpartitioned.join(", ")}: over ${PARTITION_NOW_MAX_ROWS} rows, kept unpartitioned (retention deletes in batches); convert them with \`pmon migrate --partition\``);
    }
    if (r.applied.length) slog.info(`schema of ${redactUrl(url)} migrated from version ${r.from} to ${r.to}`);
    else slog.debug(`schema of ${redactUrl(url)} is at version ${r.to}`);
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
  return db;
}
