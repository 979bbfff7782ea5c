// What a server leaves on disk is readable by its owner only: data dir 0700; database, -wal, -shm,
// reply key and operator secret 0600, even when they existed before with looser modes.
import { expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import { createLogger } from "../../../src/log.ts";
import { runServer } from "../../../src/server/run.ts";

const mode = (p: string) => statSync(p).mode & 0o777;

test("a fresh server and a server over loose old files both end up 0700/0600", async () => {
  const root = mkdtempSync(join(tmpdir(), "pmon-modes-"));
  const oldMask = process.umask(0o022);
  try {
    for (const round of ["fresh", "loosened"]) {
      const dataDir = join(root, "data");
      if (round === "loosened") {
        chmodSync(dataDir, 0o755);
        for (const f of ["pmon.db", "pmon.db-wal", "pmon.db-shm", "reply.key", "operator.secret"]) if (existsSync(join(dataDir, f))) chmodSync(join(dataDir, f), 0o644);
      } else {
        mkdirSync(root, { recursive: true });
      }
      const config = loadConfig(undefined, { env: {}, overrides: { "server.data_dir": dataDir, "server.listen": "127.0.0.1:0" } });
      const server = await runServer(config, createLogger("silent"));
      try {
        // a write makes sure -wal and -shm exist
        await server.db.exec("UPDATE tb_monitor_host_config SET istate = istate");
        expect({ round, dir: mode(dataDir) }).toEqual({ round, dir: 0o700 });
        for (const f of ["pmon.db", "pmon.db-wal", "pmon.db-shm", "reply.key", "operator.secret"]) {
          expect({ round, f, exists: existsSync(join(dataDir, f)) }).toEqual({ round, f, exists: true });
          expect({ round, f, mode: mode(join(dataDir, f)) }).toEqual({ round, f, mode: 0o600 });
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    process.umask(oldMask);
    rmSync(root, { recursive: true, force: true });
  }
});
