// The first start on the old tool's database deploys and removes nothing: the fleet manager runs its
// passes (and its version check) over the migrated host list and leaves every old istate alone, the
// silent-host rule ignores the old hosts, until `pmon enroll` or server.adopt_legacy_hosts.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { loadConfig } from "../../../src/config/load.ts";
import type { Runner } from "../../../src/deploy/ssh.ts";
import { createLogger } from "../../../src/log.ts";
import { listRunningHosts } from "../../../src/store/alerts.ts";
import type { Db } from "../../../src/store/db.ts";
import { pendingHosts } from "../../../src/store/fleet.ts";
import { registerHost } from "../../../src/store/hosts.ts";
import { adoptLegacyHosts, HELD_UNTIL } from "../../../src/store/legacy.ts";
import { openStore } from "../../../src/store/open.ts";
import { latestVersion } from "../../../src/store/versions.ts";
import { startManager } from "../../../src/fleet/manager.ts";
import { createLegacyDatabase, OLD_HOSTS } from "../../helpers/store/legacy-db.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { waitFor } from "../../lab/lab.ts";

setDefaultTimeout(60_000);

const log = createLogger("silent");
let db: Db;

/** ssh that finds nothing listening; records every host it was asked to reach */
function refusingRunner(calls: string[]): Runner {
  return async (argv) => {
    const dest = argv[argv.indexOf("--") + 1] ?? "";
    calls.push(dest.split("@")[1] ?? dest);
    return { code: 255, stdout: "", stderr: "ssh: connect to host port 22: Connection refused\n" };
  };
}

async function states(): Promise<[string, number][]> {
  return (await db.query<{ rshost: string; istate: number }>("SELECT rshost, istate FROM tb_monitor_host_config ORDER BY rshost")).map((r) => [r.rshost, Number(r.istate)]);
}

beforeAll(async () => {
  const url = (await testMariaDB("pmon_legacy_hosts")).url;
  await createLegacyDatabase(url, Date.now() - 60_000);
  db = await openStore({ storage: url, data_dir: "/nonexistent" }, log);
});
afterAll(() => db?.close());

describe("old hosts on the first start", () => {
  test("the manager's passes and its version check deploy and remove nothing", async () => {
    const config = loadConfig(undefined, { env: {}, overrides: { "server.manager_interval_s": 1 } });
    const calls: string[] = [];
    let passes = 0;
    const counting: Db = { ...db, query: (sql, params) => (sql.includes("WHERE istate IN") && passes++, db.query(sql, params)) };
    const stop = startManager({ config, log, db: counting }, { runner: refusingRunner(calls), version: "9.9.9" });
    try {
      await waitFor("three manager passes", () => passes >= 3, 20_000, 50);
    } finally {
      await stop();
    }
    expect(calls).toEqual([]);
    expect(await states()).toEqual(Object.entries(OLD_HOSTS));
    // the version check saw the old tool's "1.6", recorded pmon's, and marked nobody for redeployment
    expect((await latestVersion(db))?.version).toBe("9.9.9");
    const held = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_config WHERE next_deploy_at = ? AND deployed_by_pmon = 0", [HELD_UNTIL]);
    expect(Number(held[0]!.n)).toBe(4);
    expect(await pendingHosts(db, Date.now())).toEqual([]);
    // and no silent-host alerts for hosts that have no pmon agent yet
    expect(await listRunningHosts(db)).toEqual([]);
  });

  test("pmon enroll of one host ends its hold; the others keep waiting", async () => {
    await registerHost(db, "10.0.0.6", { secretHash: "f".repeat(64), istate: 1 });
    expect((await pendingHosts(db, Date.now())).map((h) => h.rshost)).toEqual(["10.0.0.6"]);
    await db.exec("UPDATE tb_monitor_host_config SET istate = 1, next_deploy_at = ?, secret_hash = '', deployed_by_pmon = 0 WHERE rshost = '10.0.0.6'", [HELD_UNTIL]);
  });

  test("server.adopt_legacy_hosts hands them to the manager: istate 1 and 2 are deployed, 0 removed", async () => {
    expect(await adoptLegacyHosts(db, Date.now())).toBe(4); // -1 rows are released too, nothing happens to them
    expect(await states()).toEqual([
      ["10.0.0.5", 1],
      ["10.0.0.6", 1],
      ["10.0.0.7", 0],
      ["10.0.0.8", -1],
    ]);
    const config = loadConfig(undefined, { env: {}, overrides: { "server.manager_interval_s": 1 } });
    const calls: string[] = [];
    const stop = startManager({ config, log, db }, { runner: refusingRunner(calls), version: "9.9.9", retryBaseMs: 3_600_000 });
    try {
      await waitFor("ssh to the three hosts", () => ["10.0.0.5", "10.0.0.6", "10.0.0.7"].every((h) => calls.includes(h)), 20_000, 50);
    } finally {
      await stop();
    }
    expect(calls).not.toContain("10.0.0.8");
    expect(await adoptLegacyHosts(db, Date.now())).toBe(0);
  });
});
