// bun test preload: every test sees UTC. Child processes (the compiled binary) log at their normal level,
// since several tests read what they print on stderr.
process.env.TZ = "UTC";
// bun test runs no process "exit" handlers: stop the shared test MariaDB after the last test file.
import { afterAll } from "bun:test";
import { cleanupTestMariaDB } from "./helpers/mariadb.ts";
// Deleting a datadir with many partitioned test databases takes seconds on a busy machine.
afterAll(cleanupTestMariaDB, 60_000);
