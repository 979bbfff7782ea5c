// Run by schema.test.ts as a separate process: one "server" migrating the database at argv[2].
import { openDb } from "../../../src/store/db.ts";
import { migrate } from "../../../src/store/schema.ts";

const db = openDb(process.argv[2]!);
const r = await migrate(db);
await db.close();
process.stdout.write(JSON.stringify(r));
