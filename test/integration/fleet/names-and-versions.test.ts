// What the manager loop does with rows it did not write: host names that must never reach ssh, version
// rows of the old tool, and a server older than the fleet. SQLite store, ssh replaced by a recording runner.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../../src/config/load.ts";
import type { Runner } from "../../../src/deploy/ssh.ts";
import { startManager } from "../../../src/fleet/manager.ts";
import { createLogger } from "../../../src/log.ts";
import type { Db } from "../../../src/store/db.ts";
import { getHost, ISTATE, registerHost } from "../../../src/store/hosts.ts";
import { latestPmonVersion, latestVersion, recordVersion } from "../../../src/store/versions.ts";
import { memoryStoresPerTest } from "../../helpers/store/backends.ts";
import { waitFor } from "../../lab/lab.ts";

const log = createLogger("silent");
const store = memoryStoresPerTest();

/** ssh that finds nothing listening; records every destination it was asked for */
function recordingRunner(dests: string[]): Runner {
  return async (argv) => {
    dests.push(argv[argv.indexOf("--") + 1] ?? "");
    return { code: 255, stdout: "", stderr: "ssh: connect to host x port 22: Connection refused\n" };
  };
}

const config = loadConfig(undefined, { env: {}, overrides: { "server.manager_interval_s": 1 } });

describe("host names", () => {
  test("rows inserted by SQL with a name starting with '-' or '.' are refused with a deploy_error and never reach ssh", async () => {
    const db = await store();
    await recordVersion(db, "1.0.0");
    for (const name of ["-oProxyCommand=touch /tmp/pwned", ".hidden", "_x", "good-1"]) {
      await db.exec("INSERT INTO tb_monitor_host_config (rshost, istate) VALUES (?, 1)", [name]);
    }
    const dests: string[] = [];
    const stop = startManager({ config, log, db }, { runner: recordingRunner(dests), version: "1.0.0", retryBaseMs: 60_000 });
    try {
      await waitFor("all four rows looked at", async () => {
        const rows = await db.query<{ deploy_error: string }>("SELECT deploy_error FROM tb_monitor_host_config");
        return rows.every((r) => r.deploy_error !== "");
      }, 30_000, 50);
    } finally {
      await stop();
    }
    for (const name of ["-oProxyCommand=touch /tmp/pwned", ".hidden", "_x"]) {
      const h = (await getHost(db, name))!;
      expect(h.deploy_error).toContain("must start with a letter or digit");
      expect(h.next_deploy_at).toBeGreaterThan(Date.now() + 3_600_000);
      expect(dests.some((d) => d.includes(name))).toBe(false);
    }
    // the good row was tried over ssh as usual
    expect(dests.some((d) => d.endsWith("@good-1"))).toBe(true);
  }, 60_000);
});

describe("versions", () => {
  async function runningHosts(db: Db) {
    for (const h of ["10.9.5.1", "10.9.5.2"]) await registerHost(db, h, { secretHash: "", istate: ISTATE.running });
  }
  async function startAndSettle(db: Db, version: string) {
    const stop = startManager({ config, log, db }, { runner: recordingRunner([]), version, retryBaseMs: 60_000 });
    await Bun.sleep(300);
    await stop();
  }
  const states = async (db: Db) => (await db.query<{ istate: number }>("SELECT istate FROM tb_monitor_host_config ORDER BY rshost")).map((r) => Number(r.istate));

  test("a version row written by the old tool does not start a rollout; it is recorded as the first pmon version", async () => {
    const db = await store();
    await recordVersion(db, "1.6");
    await runningHosts(db);
    await startAndSettle(db, "0.1.0");
    expect(await states(db)).toEqual([ISTATE.running, ISTATE.running]);
    expect((await latestPmonVersion(db))!.version).toBe("0.1.0");
  });

  test("a newer server rolls out; an older one changes nothing and records nothing", async () => {
    const db = await store();
    await recordVersion(db, "0.2.0");
    await runningHosts(db);
    await startAndSettle(db, "0.1.0");
    expect(await states(db)).toEqual([ISTATE.running, ISTATE.running]);
    expect((await latestVersion(db))!.version).toBe("0.2.0");
    // an old-tool row on top does not hide the pmon version
    await recordVersion(db, "1.6");
    await startAndSettle(db, "0.1.0");
    expect(await states(db)).toEqual([ISTATE.running, ISTATE.running]);
    await startAndSettle(db, "0.3.0");
    expect(await states(db)).toEqual([ISTATE.toDeploy, ISTATE.toDeploy]);
    expect((await latestPmonVersion(db))!.version).toBe("0.3.0");
  });
});
