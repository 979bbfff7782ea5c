// The manager loop and the fleet queries on a real (SQLite) store, with ssh replaced by a runner
// that fails like an unreachable host: claims, retries, the alert after 3 failures, rollout stop.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../../src/config/load.ts";
import type { AlertEvent } from "../../../src/alerts/event.ts";
import type { Notifier } from "../../../src/alerts/notifier.ts";
import { markDeployFailed, markRemoved, markRolledBack, retryDelayMs } from "../../../src/fleet/lifecycle.ts";
import type { Runner } from "../../../src/deploy/ssh.ts";
import { createLogger } from "../../../src/log.ts";
import { claimHost, markAllForRedeploy, pendingHosts, setSecretHash } from "../../../src/store/fleet.ts";
import { getHost, ISTATE, registerHost } from "../../../src/store/hosts.ts";
import { latestVersion, recordVersion } from "../../../src/store/versions.ts";
import { startManager } from "../../../src/fleet/manager.ts";
import { memoryStoresPerTest } from "../../helpers/store/backends.ts";
import { waitFor } from "../../lab/lab.ts";

const store = memoryStoresPerTest();

/** ssh that always finds nothing listening; counts calls per host */
function refusingRunner(calls: Map<string, number>): Runner {
  return async (argv) => {
    const dest = argv[argv.indexOf("--") + 1] ?? "";
    const host = dest.split("@")[1] ?? dest;
    calls.set(host, (calls.get(host) ?? 0) + 1);
    return { code: 255, stdout: "", stderr: `ssh: connect to host ${host} port 22: Connection refused\n` };
  };
}

function recordingNotifier(events: AlertEvent[]): Notifier {
  return { channelCount: 1, send: async (e) => (events.push(e), true) };
}

describe("fleet queries", () => {
  test("a pending host is claimed by one server only, until its lease expires", async () => {
    const db = await store();
    await db.exec("INSERT INTO tb_monitor_host_config (rshost, istate) VALUES ('h4', 1)");
    const now = 1_000_000;
    expect((await pendingHosts(db, now)).map((h) => h.rshost)).toEqual(["h4"]);
    expect(await claimHost(db, "h4", ISTATE.toDeploy, now, now + 60_000)).toBe(true);
    expect(await claimHost(db, "h4", ISTATE.toDeploy, now + 1, now + 60_000)).toBe(false);
    expect(await pendingHosts(db, now + 1)).toEqual([]);
    // a crashed server's lease runs out and the host is pending again
    expect((await pendingHosts(db, now + 60_000)).map((h) => h.rshost)).toEqual(["h4"]);
    expect(await claimHost(db, "h4", ISTATE.toDeploy, now + 60_000, now + 120_000)).toBe(true);
    // a claim is for one istate: a host meanwhile set to 0 is not deployed
    await db.exec("UPDATE tb_monitor_host_config SET istate = 0, next_deploy_at = NULL WHERE rshost = 'h4'");
    expect(await claimHost(db, "h4", ISTATE.toDeploy, now + 60_000, now + 120_000)).toBe(false);
  });

  test("failures count up with backoff; rollback and removal are recorded", async () => {
    const db = await store();
    await registerHost(db, "h1", { secretHash: "a".repeat(64), istate: ISTATE.toDeploy });
    const t = 5_000_000;
    expect(await markDeployFailed(db, "h1", ISTATE.toDeploy, "unreachable: connection refused", 30_000, t)).toBe(1);
    expect(await markDeployFailed(db, "h1", ISTATE.toDeploy, "unreachable: connection refused", 30_000, t)).toBe(2);
    let h = (await getHost(db, "h1"))!;
    expect(h.istate).toBe(1);
    expect(h.deploy_failures).toBe(2);
    expect(h.next_deploy_at).toBe(t + retryDelayMs(2, 30_000));
    expect(h.deploy_error).toBe("unreachable: connection refused");
    await markRolledBack(db, "h1", "rolled back to 0.1.0: ...", t);
    h = (await getHost(db, "h1"))!;
    expect([h.istate, h.deploy_error, h.next_deploy_at]).toEqual([2, "rolled back to 0.1.0: ...", null]);
    await setSecretHash(db, "h1", "b".repeat(64), t);
    expect((await getHost(db, "h1"))!.secret_hash).toBe("b".repeat(64));
    await markRemoved(db, "h1", t);
    h = (await getHost(db, "h1"))!;
    expect([h.istate, h.secret_hash]).toEqual([-1, ""]);
  });

  test("an upgrade marks every running host, and only those, for redeployment", async () => {
    const db = await store();
    for (const [h, s] of [["a", 2], ["b", 2], ["c", -1], ["d", 1]] as const) await registerHost(db, h, { secretHash: "", istate: s });
    expect(await markAllForRedeploy(db, Date.now())).toEqual(["a", "b"]);
    expect((await pendingHosts(db, Date.now())).map((h) => h.rshost)).toEqual(["a", "b", "d"]);
  });
});

describe("manager loop", () => {
  const log = createLogger("silent");

  test("a failing deployment is retried with backoff, alerts after the third failure, and shows the reason", async () => {
    const db = await store();
    await recordVersion(db, "1.0.0");
    await db.exec("INSERT INTO tb_monitor_host_config (rshost, istate) VALUES ('10.9.0.1', 1)");
    const config = loadConfig(undefined, { env: {}, overrides: { "server.manager_interval_s": 1 } });
    const calls = new Map<string, number>();
    const events: AlertEvent[] = [];
    const stop = startManager(
      { config, log, db },
      { runner: refusingRunner(calls), notifier: recordingNotifier(events), version: "1.0.0", retryBaseMs: 200 },
    );
    try {
      await waitFor("the deploy_failed alert", () => events.length > 0, 30_000, 50);
    } finally {
      await stop();
    }
    const h = (await getHost(db, "10.9.0.1"))!;
    expect(h.istate).toBe(1); // still pending: it will be retried
    expect(h.deploy_failures).toBeGreaterThanOrEqual(3);
    expect(h.deploy_error).toBe("unreachable: connection refused (no sshd on that port?)");
    expect(events[0]!.kind).toBe("deploy_failed");
    expect(events[0]!.host).toBe("10.9.0.1");
    expect(events[0]!.state).toBe("firing");
    expect(events.length).toBe(1); // once per incident, not once per retry
    expect(calls.get("10.9.0.1")).toBe(h.deploy_failures); // one probe per attempt
  }, 60_000);

  test("the manager runs on the injected clock: leases, retry times and claims follow opts.now", async () => {
    const db = await store();
    await recordVersion(db, "1.0.0");
    const day = 86_400_000;
    const fakeNow = Date.now() + 2 * day;
    // waiting for a retry until tomorrow by the wall clock, overdue by the manager's clock
    await db.exec("INSERT INTO tb_monitor_host_config (rshost, istate, next_deploy_at) VALUES ('10.9.2.1', 1, ?)", [Date.now() + day]);
    const config = loadConfig(undefined, { env: {}, overrides: { "server.manager_interval_s": 1 } });
    const calls = new Map<string, number>();
    const stop = startManager({ config, log, db }, { runner: refusingRunner(calls), notifier: recordingNotifier([]), version: "1.0.0", retryBaseMs: 60_000, now: () => fakeNow });
    try {
      await waitFor("the deployment attempt", async () => ((await getHost(db, "10.9.2.1"))?.deploy_failures ?? 0) >= 1, 30_000, 50);
    } finally {
      await stop();
    }
    expect(calls.get("10.9.2.1")).toBe(1);
    // the retry is scheduled from the injected clock: first retry after retryBaseMs
    expect(Number((await getHost(db, "10.9.2.1"))!.next_deploy_at)).toBe(fakeNow + 60_000);
  }, 60_000);

  test("a new version starts a rollout, which stops by itself when too many hosts fail", async () => {
    const db = await store();
    await recordVersion(db, "0.9.0");
    const hosts = ["10.9.1.1", "10.9.1.2", "10.9.1.3", "10.9.1.4", "10.9.1.5"];
    for (const h of hosts) await registerHost(db, h, { secretHash: "c".repeat(64), istate: ISTATE.running });
    const config = loadConfig(undefined, {
      env: {},
      overrides: { "server.manager_interval_s": 1, "deploy.parallel": 1, "deploy.rollout_max_failed_pct": 20, "alerts.language": "en" },
    });
    const events: AlertEvent[] = [];
    const calls = new Map<string, number>();
    const stop = startManager(
      { config, log, db },
      { runner: refusingRunner(calls), notifier: recordingNotifier(events), version: "1.0.0", retryBaseMs: 3_600_000 },
    );
    try {
      await waitFor("the rollout to stop", () => events.some((e) => e.host === "rollout"), 30_000, 50);
    } finally {
      await stop();
    }
    expect((await latestVersion(db))!.version).toBe("1.0.0");
    const rows = await Promise.all(hosts.map((h) => getHost(db, h)));
    const tried = rows.filter((r) => r!.istate === ISTATE.toDeploy);
    const kept = rows.filter((r) => r!.istate === ISTATE.running);
    // 1 of 5 = 20 % is within the limit, the 2nd failure (40 %) stops the rollout
    expect(tried.length).toBe(2);
    expect(kept.length).toBe(3);
    for (const r of kept) expect(r!.deploy_error).toBe("rollout of 1.0.0 stopped: 2 of 5 host(s) failed (limit 20 %)");
    expect([...calls.keys()].length).toBe(2); // the other three were never touched
    expect(events.find((e) => e.host === "rollout")!.message).toContain("rollout of 1.0.0 stopped");
  }, 60_000);
});
