// Host rows, versions and server heartbeats on both backends.
import { describe, expect, test, setDefaultTimeout } from "bun:test";
import type { Db } from "../../../src/store/db.ts";
import { deleteHost, getHost, ISTATE, listHosts, recordReportSeen, registerHost, setHostState } from "../../../src/store/hosts.ts";
import { heartbeat, lastHeartbeat, liveServers } from "../../../src/store/servers.ts";
import { latestVersion, recordVersion } from "../../../src/store/versions.ts";
import { BACKENDS, openMigratedForSuite } from "../../helpers/store/backends.ts";

// DDL on a shared 2-core machine can take seconds; never assert timings here.
setDefaultTimeout(60_000);

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);

describe.each(BACKENDS)("hosts on $name", (backend) => {
  let db: Db;
  openMigratedForSuite(backend, (h) => (db = h.db));

  test("register, get, re-register (re-key) and list", async () => {
    expect(await getHost(db, "h1")).toBeUndefined();
    const h1 = await registerHost(db, "h1", { secretHash: "hash-a", istate: ISTATE.toDeploy }, T0);
    expect(h1).toMatchObject({ rshost: "h1", istate: 1, secret_hash: "hash-a", agent_version: "", last_report_at: null, clock_skew_ms: null, deploy_failures: 0, deploy_error: "", next_deploy_at: null, created_at: T0, updated_at: T0 });
    await setHostState(db, "h1", ISTATE.toDeploy, { deploy_failures: 3, deploy_error: "ssh: connection refused", next_deploy_at: T0 + 60_000 }, T0 + 1000);
    const again = await registerHost(db, "h1", { secretHash: "hash-b", istate: ISTATE.running }, T0 + 2000);
    expect(again).toMatchObject({ id: h1.id, istate: 2, secret_hash: "hash-b", deploy_failures: 0, deploy_error: "", next_deploy_at: null, created_at: T0, updated_at: T0 + 2000 });
    await registerHost(db, "a0", { secretHash: "x", istate: ISTATE.toRemove }, T0);
    expect((await listHosts(db)).map((h) => h.rshost)).toEqual(["a0", "h1"]);
    expect((await listHosts(db, { istate: [ISTATE.running] })).map((h) => h.rshost)).toEqual(["h1"]);
  });

  test("setHostState changes istate and the extra columns; unknown hosts are false", async () => {
    await registerHost(db, "h2", { secretHash: "x", istate: ISTATE.toDeploy }, T0);
    expect(await setHostState(db, "h2", ISTATE.running, { agent_version: "0.2.0", previous_version: "0.1.0" }, T0 + 5)).toBe(true);
    expect(await getHost(db, "h2")).toMatchObject({ istate: 2, agent_version: "0.2.0", previous_version: "0.1.0", updated_at: T0 });
    // the same values again: still found (MySQL reports 0 changed rows)
    expect(await setHostState(db, "h2", ISTATE.running, {}, T0 + 5)).toBe(true);
    expect(await setHostState(db, "nope", ISTATE.running)).toBe(false);
    expect(await deleteHost(db, "h2")).toBe(true);
    expect(await getHost(db, "h2")).toBeUndefined();
  });

  test("recordReportSeen: times only move forward; a replay keeps the measured skew", async () => {
    await registerHost(db, "h3", { secretHash: "x", istate: ISTATE.running }, T0);
    await recordReportSeen(db, "h3", { receivedAt: T0 + 30_000, agentTime: T0 + 29_000, agentVersion: "0.1.0", clockSkewMs: -1000 });
    await recordReportSeen(db, "h3", { receivedAt: T0 + 20_000, agentTime: T0 - 3_600_000, agentVersion: "0.1.0" });
    expect(await getHost(db, "h3")).toMatchObject({ last_report_at: T0 + 30_000, last_agent_time: T0 + 29_000, clock_skew_ms: -1000, agent_version: "0.1.0" });
    await recordReportSeen(db, "h3", { receivedAt: T0 + 60_000, agentTime: T0 + 61_000, agentVersion: "0.2.0", clockSkewMs: 1000 });
    expect(await getHost(db, "h3")).toMatchObject({ last_report_at: T0 + 60_000, last_agent_time: T0 + 61_000, clock_skew_ms: 1000, agent_version: "0.2.0" });
  });

  test("versions: the newest row wins", async () => {
    expect(await latestVersion(db)).toBeUndefined();
    await recordVersion(db, "0.1.0", T0);
    await recordVersion(db, "0.10.0-rc.1+abc", T0 + 1000);
    expect(await latestVersion(db)).toMatchObject({ version: "0.10.0-rc.1+abc", a_time: T0 + 1000 });
  });

  test("server heartbeats upsert one row per server", async () => {
    await heartbeat(db, { serverId: "s1", address: "10.0.0.1:9300", version: "0.1.0", startedAt: T0 }, T0);
    await heartbeat(db, { serverId: "s2", address: "10.0.0.2:9300", version: "0.1.0", startedAt: T0 }, T0);
    await heartbeat(db, { serverId: "s1", address: "10.0.0.1:9300", version: "0.1.0", startedAt: T0 }, T0 + 60_000);
    expect((await liveServers(db, T0 + 30_000)).map((s) => [s.server_id, s.a_time])).toEqual([["s1", T0 + 60_000]]);
    expect((await liveServers(db, T0)).length).toBe(2);
    // the newest heartbeat of any server, fresh or not: what `pmon status` judges the server by
    expect(await lastHeartbeat(db)).toMatchObject({ server_id: "s1", address: "10.0.0.1:9300", a_time: T0 + 60_000, started_at: T0 });
  });
});
