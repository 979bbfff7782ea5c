// `pmon status` tells a stopped server from silent hosts: the server's heartbeat goes stale, status
// says "server not seen since HH:MM" and exits 3, and no host is blamed. `--source api` says the
// connection failed in pmon's words, also with exit 3.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startLocalFleet, type LocalFleet } from "../../helpers/local-fleet.ts";
import { pmon } from "../../helpers/pmon-binary.ts";

let fleet: LocalFleet;
beforeAll(async () => {
  fleet = await startLocalFleet({ host: "hb1", heartbeatS: 1 });
}, 60_000);
afterAll(() => fleet.down());

test("with the server running: exit 0, the host running, the heartbeat fresh", async () => {
  const r = await pmon(["status", "--config", fleet.config]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^hb1\s+running/m);
  expect(r.stdout).not.toContain("server not seen");
  const json = JSON.parse((await pmon(["status", "--config", fleet.config, "--json"])).stdout);
  expect(json.server.up).toBe(true);
  expect(json.server.address).toBe(`127.0.0.1:${fleet.port}`);
  expect(Date.now() - json.server.last_heartbeat_at).toBeLessThan(60_000);
  const api = await pmon(["status", "--config", fleet.config, "--source", "api"]);
  expect(api.code).toBe(0);
  // host names filter, and unknown ones are named: not everything listed, exit 1
  const named = await pmon(["status", "--config", fleet.config, "hb1", "nosuch"]);
  expect(named.code).toBe(1);
  expect(named.stderr).toContain("not enrolled: nosuch");
});

test("with the server stopped: 'server not seen since HH:MM', exit 3, no host blamed", async () => {
  await fleet.stopAgent();
  const stoppedAt = Date.now();
  await fleet.stopServer();
  // three missed beats of 1 s make the server "down"
  let r = await pmon(["status", "--config", fleet.config, "--utc"]);
  for (let i = 0; i < 100 && r.code !== 3; i++) {
    await Bun.sleep(100);
    r = await pmon(["status", "--config", fleet.config, "--utc"]);
  }
  expect(r.code).toBe(3);
  const hhmm = new Date(stoppedAt).toISOString().slice(11, 16);
  const before = new Date(stoppedAt - 60_000).toISOString().slice(11, 16); // the beat may be in the minute before
  expect(r.stdout).toMatch(new RegExp(`server not seen since (${hhmm}|${before}) UTC`));
  expect(r.stdout).toContain(`last heartbeat from 127.0.0.1:${fleet.port}`);
  expect(r.stdout).not.toMatch(/^hb1: no report/m);
  const json = JSON.parse((await pmon(["status", "--config", fleet.config, "--json"])).stdout);
  expect(json.server.up).toBe(false);
});

test("--source api with nothing listening: pmon's words, exit 3", async () => {
  const r = await pmon(["status", "--config", fleet.config, "--source", "api"]);
  expect(r.code).toBe(3);
  expect(r.stderr).toContain(`cannot reach the pmon server at http://127.0.0.1:${fleet.port}: connection refused`);
  expect(r.stderr).not.toContain("Unable to connect");
  expect(r.stderr).not.toContain("ECONNREFUSED");
});
