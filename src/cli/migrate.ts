import { defineCommand } from "citty";
import { redactUrl, StoreUnavailableError } from "../store/db.ts";
import { partitionBigTables } from "../store/legacy.ts";
import { openStore, storageUrl } from "../store/open.ts";
import { UnknownSchemaError } from "../store/legacy.ts";
import { commonArgs, definedOnly, runWithConfig, storeArgs, UserError } from "./_shared.ts";

export default defineCommand({
  meta: {
    name: "migrate",
    description:
      "Bring the database schema up to date (what `pmon server` does at start, including taking over the old tool's database); --partition converts tables left unpartitioned because they were big",
  },
  args: {
    ...commonArgs,
    ...storeArgs,
    partition: { type: "boolean", description: "Convert unpartitioned time-series tables to daily partitions (copies each table in batches, with progress; servers may keep running)" },
  },
  async run({ args }) {
    const overrides = definedOnly({ "server.storage": args.storage, "server.data_dir": args["data-dir"] });
    await runWithConfig(args, overrides, async ({ config, log }) => {
      const mlog = log.withTag("migrate");
      const url = storageUrl(config.server);
      let db;
      try {
        db = await openStore(config.server, log);
      } catch (e) {
        if (e instanceof UnknownSchemaError || e instanceof StoreUnavailableError) throw new UserError(`pmon migrate: ${e.message}`);
        throw e;
      }
      try {
        if (!args.partition) {
          mlog.info(`schema of ${redactUrl(url)} is up to date`);
          return 0;
        }
        if (db.dialect !== "mysql") throw new UserError("pmon migrate --partition: only MySQL-family stores have partitions (SQLite needs none)");
        const results = await partitionBigTables(db, Date.now(), (m) => mlog.info(m));
        const done = results.filter((r) => !r.skipped);
        mlog.info(done.length ? `partitioned ${done.length} table(s): ${done.map((r) => `${r.table} (${r.rows} rows)`).join(", ")}` : "every time-series table is already partitioned by day");
        return 0;
      } finally {
        await db.close();
      }
    });
  },
});
