// A host goes silent: one alert after silent_after_s, repeats every repeat_every_s, at most
// max_repeats, one recovery; a restarted server (new service over the same store) keeps the count;
// two servers on one store send each alert once. Runs on SQLite and on the test MariaDB.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createAlertService, type AlertService } from "../../../src/alerts/loop.ts";
import { openDb } from "../../../src/store/db.ts";
import { listAlertLog } from "../../../src/store/alert-log.ts";
import { claimOpen, getAlert } from "../../../src/store/alerts.ts";
import { setHostState } from "../../../src/store/hosts.ts";
import { captureLogger, startReceiver, type Receiver } from "../../helpers/alerts/receiver.ts";
import { freshStore, reported, runningHost, testConfig, type Dialect } from "../../helpers/alerts/helpers.ts";

const T0 = Date.parse("2026-11-25T08:00:00Z");
const S = 1000;

let rx: Receiver;
beforeAll(() => {
  rx = startReceiver();
});
afterAll(() => rx.stop());

const config = () =>
  testConfig(
    { "alerts.silent_after_s": 120, "alerts.repeat_every_s": 600, "alerts.max_repeats": 10, "alerts.tries": 1, "alerts.language": "zh" },
    [{ type: "webhook", url: `${rx.url}/hook` }],
  );

for (const dialect of ["sqlite", "mysql"] as Dialect[]) {
  describe(`silent host (${dialect})`, () => {
    it("alerts after 2 min, every 10 min, at most 10 times, survives a restart, recovers once", async () => {
      rx.posts.length = 0;
      const { db, url } = await freshStore(dialect);
      const cfg = config();
      let now = T0;
      const clock = () => now;
      const { log } = captureLogger();
      await runningHost(db, "good-1", T0);
      await runningHost(db, "quiet-1", T0);
      const serverA: AlertService = createAlertService({ config: cfg, log, db, owner: "server-a", now: clock });
      const ofQuiet = (state: string) => rx.posts.filter((p) => p.body.host === "quiet-1" && p.body.state === state);

      // every 30 s for 90 min: quiet-1 stays silent, good-1 keeps reporting
      const tickUntil = async (svc: AlertService, endS: number) => {
        while (now < T0 + endS * S) {
          now += 30 * S;
          await reported(db, "good-1", now);
          await svc.checkSilent();
        }
      };
      await tickUntil(serverA, 90);
      expect(rx.posts).toHaveLength(0); // 90 s: not yet
      await tickUntil(serverA, 120);
      expect(ofQuiet("firing")).toHaveLength(1); // at 2 min
      expect(ofQuiet("firing")[0]!.body.since).toBe(new Date(T0).toISOString());
      expect(ofQuiet("firing")[0]!.body.message).toContain("进程监控, 超过2min未上报的节点有 : quiet-1");
      expect(ofQuiet("firing")[0]!.body.message).toContain("1/10");
      await tickUntil(serverA, 690);
      expect(ofQuiet("firing")).toHaveLength(1); // 11m30s: the repeat is due at 12 min
      await tickUntil(serverA, 720);
      expect(ofQuiet("firing")).toHaveLength(2);
      await tickUntil(serverA, 120 + 600 * 2 + 30);
      expect(ofQuiet("firing")).toHaveLength(3);

      // the server restarts: a new service instance, over a new connection to the same store
      const db2 = openDb(url);
      const serverB = createAlertService({ config: cfg, log, db: db2, owner: "server-b", now: clock });
      await tickUntil(serverB, 120 + 600 * 3 - 30);
      expect(ofQuiet("firing")).toHaveLength(3); // the count and the last alert time came from the store
      await tickUntil(serverB, 120 + 600 * 3);
      expect(ofQuiet("firing")).toHaveLength(4);
      expect(ofQuiet("firing")[3]!.body.message).toContain("4/10");

      // far past the 10th: no 11th
      await tickUntil(serverB, 120 + 600 * 12);
      expect(ofQuiet("firing")).toHaveLength(10);
      expect(ofQuiet("firing").map((p) => p.body.message.match(/(\d+)\/10/)![1])).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
      expect(rx.posts.filter((p) => p.body.host === "good-1")).toHaveLength(0);
      const row = await getAlert(db2, "quiet-1", "silent");
      expect(row).toMatchObject({ istate: 10, sent: 10, since: T0 });

      // it reports again: exactly one recovery, even after 10 alerts
      now += 10 * S;
      await reported(db2, "quiet-1", now);
      const backAt = now;
      await serverB.checkSilent();
      await serverB.checkSilent();
      expect(ofQuiet("resolved")).toHaveLength(1);
      expect(ofQuiet("resolved")[0]!.body.message).toContain("告警恢复");
      expect(ofQuiet("resolved")[0]!.body.message).toContain(`持续 2h2min`);
      expect(ofQuiet("resolved")[0]!.body.since).toBe(new Date(T0).toISOString());
      expect((await getAlert(db2, "quiet-1", "silent"))!.istate).toBe(0);

      // a second outage starts counting at 1 again
      await tickUntil(serverB, (backAt - T0) / S + 150);
      await reported(db2, "good-1", now);
      expect(ofQuiet("firing")).toHaveLength(11);
      expect(ofQuiet("firing")[10]!.body.message).toContain("1/10");
      expect(ofQuiet("firing")[10]!.body.since).toBe(new Date(backAt).toISOString());
      await db2.close();
      await db.close();
    }, 60_000);

    it("two servers sharing the store send each alert and recovery once", async () => {
      rx.posts.length = 0;
      const { db, url } = await freshStore(dialect);
      const db2 = openDb(url);
      const cfg = config();
      let now = T0;
      const clock = () => now;
      const { log } = captureLogger();
      const hosts = Array.from({ length: 8 }, (_, i) => `h${i}`);
      for (const h of hosts) await runningHost(db, h, T0);
      const a = createAlertService({ config: cfg, log, db, owner: "a", now: clock });
      const b = createAlertService({ config: cfg, log, db: db2, owner: "b", now: clock });
      for (let t = 30; t <= 120 + 600 * 2; t += 30) {
        now = T0 + t * S;
        await Promise.all([a.checkSilent(), b.checkSilent(), a.checkSilent()]);
      }
      for (const h of hosts) expect(rx.posts.filter((p) => p.body.host === h && p.body.state === "firing")).toHaveLength(3);
      now += 30 * S;
      for (const h of hosts) await reported(db, h, now);
      await Promise.all([a.checkSilent(), b.checkSilent()]);
      for (const h of hosts) expect(rx.posts.filter((p) => p.body.host === h && p.body.state === "resolved")).toHaveLength(1);
      expect(rx.posts).toHaveLength(hosts.length * 4);
      // the alert log holds each message sent once, with who sent it and that it was delivered
      const logged = await listAlertLog(db2, { limit: 1000 });
      expect(logged).toHaveLength(hosts.length * 4);
      for (const h of hosts) {
        const mine = logged.filter((e) => e.rshost === h).reverse();
        expect(mine.map((e) => e.state)).toEqual(["firing", "repeat", "repeat", "resolved"]);
        expect(mine.map((e) => e.time)).toEqual(rx.posts.filter((p) => p.body.host === h).map((p) => Date.parse(p.body.time)));
        expect(mine.map((e) => e.message)).toEqual(rx.posts.filter((p) => p.body.host === h).map((p) => p.body.message));
        for (const e of mine) expect(e).toMatchObject({ kind: "silent", since: T0, delivered: true, channels: 1 });
        for (const e of mine) expect(["a", "b"]).toContain(e.sender);
      }
      await db2.close();
      await db.close();
    }, 60_000);

    it("a server that just started gives every host silent_after_s to report first", async () => {
      rx.posts.length = 0;
      const { db } = await freshStore(dialect);
      // the store says the host last reported an hour ago (this server was down meanwhile)
      await runningHost(db, "back-1", T0 - 3600 * S);
      await runningHost(db, "dead-1", T0 - 3600 * S);
      let now = T0;
      const svc = createAlertService({ config: config(), log: captureLogger().log, db, owner: "a", now: () => now });
      for (; now < T0 + 120 * S; now += 30 * S) {
        if (now >= T0 + 30 * S) await reported(db, "back-1", now);
        await svc.checkSilent();
      }
      expect(rx.posts).toHaveLength(0);
      now = T0 + 120 * S;
      await reported(db, "back-1", now);
      await svc.checkSilent();
      expect(rx.posts.map((p) => p.body.host)).toEqual(["dead-1"]);
      await db.close();
    }, 60_000);

    it("a removed host's open incident is closed without a message; a host that never reported is left alone", async () => {
      rx.posts.length = 0;
      const { db } = await freshStore(dialect);
      const cfg = config();
      let now = T0;
      const { log } = captureLogger();
      await runningHost(db, "gone", T0);
      await runningHost(db, "never", null);
      const svc = createAlertService({ config: cfg, log, db, owner: "a", now: () => now });
      now = T0 + 130 * S;
      await svc.checkSilent();
      expect(rx.posts.map((p) => p.body.host)).toEqual(["gone"]);
      // it also had a full disk; and another host's deploy failed (not running either, but the manager's business)
      await claimOpen(db, { rshost: "gone", kind: "fs:/data", since: now, now, owner: "x", remarks: "" });
      await claimOpen(db, { rshost: "never", kind: "deploy_failed", since: now, now, owner: "x", remarks: "" });
      await setHostState(db, "gone", -1);
      await setHostState(db, "never", 1);
      now += 30 * S;
      await svc.checkSilent();
      expect(rx.posts).toHaveLength(1);
      expect((await getAlert(db, "gone", "silent"))!.istate).toBe(0);
      expect((await getAlert(db, "gone", "fs:/data"))!.istate).toBe(0);
      expect((await getAlert(db, "never", "deploy_failed"))!.istate).toBe(1);
      await db.close();
    }, 60_000);
  });
}
