// `pmon config check` through the binary: exit 0 on a good config, 2 on a bad one, with --connect to a real MariaDB.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "../../helpers/binary.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";

function check(config: string, ...flags: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "pmon-cfg-"));
  const path = join(dir, "pmon.toml");
  writeFileSync(path, config);
  const r = Bun.spawnSync([requireBinary(), "config", "check", "--config", path, ...flags], { env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString(), path };
}

describe("pmon config check", () => {
  test("a reachable MariaDB: exit 0, password masked", async () => {
    const db = await testMariaDB("pmon_cfgcheck");
    const r = check(`[server]\nstorage = "${db.url}"\n`, "--connect");
    expect(r.out).toContain("ok   server.storage");
    expect(r.out).toContain("configuration ok");
    expect(r.out).not.toContain("pmonpw");
    expect(r.code).toBe(0);
  }, 60_000);

  test("an unreachable store with --connect: exit 2, the reason printed", () => {
    const r = check(`[server]\nstorage = "mysql://pmon:pw@127.0.0.1:1/pmon"\n`, "--connect", "--quiet");
    expect(r.out).toContain("FAIL server.storage: mysql://pmon:***@127.0.0.1:1/pmon");
    expect(r.code).toBe(2);
  }, 60_000);

  test("a config error: exit 2 naming file, line and key, nothing else printed on stdout", () => {
    const r = check(`[agent]\ninterval_s = "often"\n`);
    expect(r.err).toContain(":2");
    expect(r.err).toContain("agent.interval_s");
    expect(r.out).toBe("");
    expect(r.code).toBe(2);
  }, 60_000);
});
