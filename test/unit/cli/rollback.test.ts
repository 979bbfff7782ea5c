// `pmon rollback`: this binary's version becomes the fleet's even though older, and the hosts pmon
// deployed are marked for redeployment; a server of that version then does not see a downgrade.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../../../src/store/db.ts";
import { ISTATE, registerHost } from "../../../src/store/hosts.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { latestPmonVersion, recordVersion } from "../../../src/store/versions.ts";
import { VERSION } from "../../../src/version.ts";
import { pmonInProcess } from "../../helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "pmon-rollback-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("pmon rollback records this version over a newer one and marks pmon-deployed running hosts", async () => {
  const url = `sqlite:${join(dir, "pmon.db")}`;
  const db = openDb(url);
  await migrate(db);
  await recordVersion(db, "99.0.0");
  await registerHost(db, "r1", { secretHash: "", istate: ISTATE.running, deployedByPmon: true });
  await registerHost(db, "r2", { secretHash: "", istate: ISTATE.running, deployedByPmon: false });
  await db.close();
  const config = join(dir, "pmon.toml");
  writeFileSync(config, `[server]\ndata_dir = ${JSON.stringify(dir)}\n`);
  const r = await pmonInProcess(["rollback", "--config", config]);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(`99.0.0 -> ${VERSION}`);
  const after = openDb(url);
  try {
    expect((await latestPmonVersion(after))!.version).toBe(VERSION);
    const rows = await after.query<{ rshost: string; istate: number }>("SELECT rshost, istate FROM tb_monitor_host_config ORDER BY rshost");
    expect(rows.map((x) => [x.rshost, Number(x.istate)])).toEqual([
      ["r1", ISTATE.toDeploy],
      ["r2", ISTATE.running],
    ]);
  } finally {
    await after.close();
  }
});
