// Hosts whose agent another tool installs (`pmon enroll --no-deploy`, deployed_by_pmon = 0), on MariaDB
// and SQLite: an upgrade does not redeploy them, and removing them revokes the secret without ssh. ssh is
// replaced by a runner that records every call and fails like an unreachable host.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AlertEvent } from "../../../src/alerts/event.ts";
import type { Notifier } from "../../../src/alerts/notifier.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { deployAndRecord } from "../../../src/fleet/host-job.ts";
import type { Runner } from "../../../src/deploy/ssh.ts";
import { createLogger } from "../../../src/log.ts";
import type { Db } from "../../../src/store/db.ts";
import { markAllForRedeploy } from "../../../src/store/fleet.ts";
import { getHost, ISTATE, registerHost } from "../../../src/store/hosts.ts";
import { VERSION_TABLE } from "../../../src/store/schema.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { recordVersion } from "../../../src/store/versions.ts";
import { startManager } from "../../../src/fleet/manager.ts";
import { BACKENDS, openMigrated } from "../../helpers/store/backends.ts";
import { freePort, spawnPmon } from "../../helpers/server/procs.ts";
import { waitFor } from "../../lab/lab.ts";

const log = createLogger("silent");
const SECRET = "c".repeat(64);

/** ssh/scp that always find nothing listening; records the destination host of every call */
function refusingRunner(calls: string[]): Runner {
  return async (argv) => {
    const dest = argv[argv.indexOf("--") + 1] ?? argv.join(" ");
    const host = dest.split("@")[1] ?? dest;
    calls.push(host);
    return { code: 255, stdout: "", stderr: `ssh: connect to host ${host} port 22: Connection refused\n` };
  };
}

const quietNotifier = (events: AlertEvent[]): Notifier => ({ channelCount: 1, send: async (e) => (events.push(e), true) });

describe.each(BACKENDS)("externally managed hosts on $name", (backend) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  const store = async (): Promise<{ db: Db; url: string }> => {
    const h = await openMigrated(backend);
    cleanups.push(h.cleanup);
    return h;
  };

  test("who deploys a host: --no-deploy registration is external, SQL inserts and ssh enrolls are pmon's", async () => {
    const { db } = await store();
    await registerHostWithSecret(db, "ext-1");
    await db.exec("INSERT INTO tb_monitor_host_config (rshost, istate) VALUES ('sql-1', 1)");
    await registerHostWithSecret(db, "ssh-1", { istate: ISTATE.toDeploy, deployedByPmon: true });
    expect((await getHost(db, "ext-1"))!.deployed_by_pmon).toBe(false);
    expect((await getHost(db, "sql-1"))!.deployed_by_pmon).toBe(true);
    expect((await getHost(db, "ssh-1"))!.deployed_by_pmon).toBe(true);

    // an external host later enrolled over ssh becomes pmon's, even when that first attempt fails
    const config = loadConfig(undefined, { env: {}, overrides: {} });
    const calls: string[] = [];
    const out = await deployAndRecord({ db, config, log, runner: refusingRunner(calls), retryBaseMs: 3_600_000 }, { rshost: "ext-1" });
    expect(out.ok).toBe(false);
    expect(calls).toContain("ext-1");
    expect((await getHost(db, "ext-1"))!.deployed_by_pmon).toBe(true);

    // and registering it with --no-deploy again hands it back to the other tool
    await registerHostWithSecret(db, "ext-1");
    expect((await getHost(db, "ext-1"))!.deployed_by_pmon).toBe(false);
  });

  test("an upgrade marks only running hosts pmon deployed for redeployment", async () => {
    const { db } = await store();
    for (const h of ["pmon-a", "pmon-b"]) await registerHost(db, h, { secretHash: SECRET, istate: ISTATE.running });
    await db.exec("INSERT INTO tb_monitor_host_config (rshost, istate) VALUES ('sql-a', 2)");
    await registerHostWithSecret(db, "ext-a");
    await registerHost(db, "ext-gone", { secretHash: "", istate: ISTATE.removed, deployedByPmon: false });
    expect(await markAllForRedeploy(db, Date.now())).toEqual(["pmon-a", "pmon-b", "sql-a"]);
    expect((await getHost(db, "ext-a"))!.istate).toBe(ISTATE.running);
    expect((await getHost(db, "ext-gone"))!.istate).toBe(ISTATE.removed);
    expect((await getHost(db, "pmon-a"))!.istate).toBe(ISTATE.toDeploy);
  });

  test("a new server version redeploys pmon's hosts; an external host stays running, untouched, with no deploy_error", async () => {
    const { db } = await store();
    await recordVersion(db, "0.9.0");
    const pmonHosts = ["10.9.2.1", "10.9.2.2"];
    for (const h of pmonHosts) await registerHost(db, h, { secretHash: SECRET, istate: ISTATE.running });
    await registerHostWithSecret(db, "10.9.2.9");
    const config = loadConfig(undefined, { env: {}, overrides: { "server.manager_interval_s": 1, "deploy.rollout_max_failed_pct": 100 } });
    const calls: string[] = [];
    const stop = startManager(
      { config, log, db },
      { runner: refusingRunner(calls), notifier: quietNotifier([]), version: "1.0.0", retryBaseMs: 3_600_000 },
    );
    try {
      // every pmon host has had its (failing) redeployment
      await waitFor("both redeployments to fail", async () => {
        const rows = await Promise.all(pmonHosts.map((h) => getHost(db, h)));
        return rows.every((r) => r!.deploy_failures >= 1);
      }, 30_000, 50);
    } finally {
      await stop();
    }
    for (const h of pmonHosts) expect((await getHost(db, h))!.istate).toBe(ISTATE.toDeploy);
    const ext = (await getHost(db, "10.9.2.9"))!;
    expect([ext.istate, ext.deploy_error, ext.deploy_failures, ext.deployed_by_pmon]).toEqual([ISTATE.running, "", 0, false]);
    expect(calls).not.toContain("10.9.2.9");
    expect(new Set(calls)).toEqual(new Set(pmonHosts));
  }, 60_000);

  test("istate 0 on an external host: the manager revokes its secret and marks it removed, without ssh", async () => {
    const { db } = await store();
    await recordVersion(db, "1.0.0");
    await registerHostWithSecret(db, "10.9.3.9");
    await registerHost(db, "10.9.3.1", { secretHash: SECRET, istate: ISTATE.running });
    expect((await getHost(db, "10.9.3.9"))!.secret_hash).toMatch(/^ed25519:/);
    await db.exec("UPDATE tb_monitor_host_config SET istate = 0 WHERE rshost IN ('10.9.3.9', '10.9.3.1')");
    const config = loadConfig(undefined, { env: {}, overrides: { "server.manager_interval_s": 1 } });
    const calls: string[] = [];
    const stop = startManager(
      { config, log, db },
      { runner: refusingRunner(calls), notifier: quietNotifier([]), version: "1.0.0", retryBaseMs: 3_600_000 },
    );
    try {
      await waitFor("the external host to be removed and the pmon host's removal to fail", async () => {
        const [ext, own] = [await getHost(db, "10.9.3.9"), await getHost(db, "10.9.3.1")];
        return ext!.istate === ISTATE.removed && own!.deploy_failures >= 1;
      }, 30_000, 50);
    } finally {
      await stop();
    }
    const ext = (await getHost(db, "10.9.3.9"))!;
    expect([ext.istate, ext.secret_hash, ext.deploy_error, ext.deploy_failures]).toEqual([ISTATE.removed, "", "", 0]);
    expect(calls).not.toContain("10.9.3.9");
    // a host pmon deployed is still cleaned up over ssh: unreachable, it stays at 0 with the reason
    const own = (await getHost(db, "10.9.3.1"))!;
    expect(calls).toContain("10.9.3.1");
    expect(own.istate).toBe(ISTATE.toRemove);
    expect(own.deploy_error).toStartWith("removal failed: unreachable");
  }, 60_000);

  test("`pmon remove` of a host enrolled with --no-deploy needs no ssh", async () => {
    const { db, url } = await store();
    const dir = mkdtempSync(join(tmpdir(), "pmon-external-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const run = async (name: string, args: string[]) => {
      const p = spawnPmon([...args, "--storage", url, "--data-dir", join(dir, "data")], join(dir, `${name}.log`));
      return { code: await p.exited, text: p.text() };
    };
    const enrolled = await run("enroll", ["enroll", "--no-deploy", "127.0.0.9", "--secret-out", join(dir, "agent.secret")]);
    expect(enrolled.code).toBe(0);
    expect((await getHost(db, "127.0.0.9"))!.deployed_by_pmon).toBe(false);
    // nothing listens on this port: any ssh attempt would fail and make the command exit 1
    const removed = await run("remove", ["remove", "127.0.0.9", "--ssh-port", String(freePort())]);
    expect({ code: removed.code, text: removed.text }).toEqual({ code: 0, text: expect.stringContaining("another tool") });
    const h = (await getHost(db, "127.0.0.9"))!;
    expect([h.istate, h.secret_hash]).toEqual([ISTATE.removed, ""]);
  }, 60_000);
});

describe.each(BACKENDS)("upgrading the schema on $name", (backend) => {
  test("hosts that existed before deployed_by_pmon stay pmon's", async () => {
    const h = await openMigrated(backend);
    try {
      // back to schema version 1 with one host, then migrate again
      await h.db.exec("ALTER TABLE tb_monitor_host_config DROP COLUMN deployed_by_pmon");
      await h.db.exec(`DELETE FROM ${VERSION_TABLE} WHERE version = 2`);
      await h.db.exec("INSERT INTO tb_monitor_host_config (rshost, istate) VALUES ('old-1', 2)");
      expect((await migrate(h.db)).applied).toContain(2);
      expect((await getHost(h.db, "old-1"))!.deployed_by_pmon).toBe(true);
    } finally {
      await h.cleanup();
    }
  });
});
