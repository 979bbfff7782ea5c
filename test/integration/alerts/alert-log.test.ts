// The alert log (tb_monitor_alert_log): deploy events from two servers are logged once, a channel
// that refuses is logged as not delivered, robot batches and webhook documents keep each alert's own outcome, the same
// message recorded twice is one row, and retention expires old rows. SQLite and the test MariaDB.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { notifyEvent, resolveEvent } from "../../../src/alerts/events.ts";
import { createAlertService } from "../../../src/alerts/loop.ts";
import { listAlertLog, recordAlerts, type AlertLogEntry } from "../../../src/store/alert-log.ts";
import { openDb } from "../../../src/store/db.ts";
import { runRetention } from "../../../src/store/retention.ts";
import { captureLogger, startReceiver, type Receiver } from "../../helpers/alerts/receiver.ts";
import { freshStore, runningHost, testConfig, type Dialect } from "../../helpers/alerts/helpers.ts";

const T0 = Date.parse("2026-11-25T10:00:00Z");
const S = 1000;
const DAY = 86_400_000;

let rx: Receiver;
beforeAll(() => {
  rx = startReceiver();
});
afterAll(() => rx.stop());

for (const dialect of ["sqlite", "mysql"] as Dialect[]) {
  describe(`alert log (${dialect})`, () => {
    it("deploy events raced by two servers: one message each, logged once, recovery included", async () => {
      rx.posts.length = 0;
      const { db, url } = await freshStore(dialect);
      const db2 = openDb(url);
      const config = testConfig({ "alerts.tries": 1 }, [{ type: "webhook", url: `${rx.url}/hook` }]);
      const { log } = captureLogger();
      let now = T0;
      const a = { config, log, db, owner: "a", now: () => now };
      const b = { config, log, db: db2, owner: "b", now: () => now };
      const ev = { host: "10.1.1.5", kind: "deploy_failed" as const, message: "ssh: connect to host 10.1.1.5 port 22: Connection refused" };
      await Promise.all([notifyEvent(a, ev), notifyEvent(b, ev), notifyEvent(a, ev)]);
      now += 60 * S;
      await Promise.all([resolveEvent(a, { host: ev.host, kind: ev.kind }), resolveEvent(b, { host: ev.host, kind: ev.kind })]);
      expect(rx.posts).toHaveLength(2);
      const logged = (await listAlertLog(db)).reverse();
      expect(logged.map((e) => [e.rshost, e.kind, e.state, e.time, e.since, e.delivered])).toEqual([
        ["10.1.1.5", "deploy_failed", "firing", T0, T0, true],
        ["10.1.1.5", "deploy_failed", "resolved", T0 + 60 * S, T0, true],
      ]);
      expect(logged.map((e) => e.message)).toEqual(rx.posts.map((p) => p.body.message));
      await db2.close();
      await db.close();
    }, 60_000);

    it("a refusing channel is logged as not delivered; robot batches keep each alert's own outcome", async () => {
      rx.posts.length = 0;
      const { db } = await freshStore(dialect);
      const { log } = captureLogger();
      // WeCom joins the pass's alerts into one message: refused once, then accepted
      const config = testConfig({ "alerts.tries": 1, "alerts.silent_after_s": 60, "alerts.language": "en" }, [{ type: "wecom", url: `${rx.url}/send?key=k` }]);
      for (const h of ["q1", "q2"]) await runningHost(db, h, T0);
      let now = T0;
      const svc = createAlertService({ config, log, db, owner: "srv", now: () => now });
      rx.script.push({ body: { errcode: 45009, errmsg: "api freq out of limit" } });
      now = T0 + 90 * S;
      await svc.checkSilent();
      expect(rx.posts).toHaveLength(1);
      expect(rx.posts[0]!.body.text.content).toContain("q1");
      expect(rx.posts[0]!.body.text.content).toContain("q2");
      const first = await listAlertLog(db);
      expect(first.map((e) => [e.rshost, e.state, e.delivered, e.channels, e.sender]).sort()).toEqual([
        ["q1", "firing", false, 1, "srv"],
        ["q2", "firing", false, 1, "srv"],
      ]);
      await db.close();
    }, 60_000);

    it("a webhook gets one document per alert: each is logged with its own outcome", async () => {
      rx.posts.length = 0;
      const { db } = await freshStore(dialect);
      const { log } = captureLogger();
      const config = testConfig({ "alerts.tries": 1, "alerts.silent_after_s": 60, "alerts.language": "en" }, [{ type: "webhook", url: `${rx.url}/hook` }]);
      for (const h of ["w1", "w2"]) await runningHost(db, h, T0);
      let now = T0;
      const svc = createAlertService({ config, log, db, owner: "srv", now: () => now });
      // the first document to arrive is refused, the second accepted
      rx.script.push({ status: 502 });
      now = T0 + 90 * S;
      await svc.checkSilent();
      expect(rx.posts).toHaveLength(2);
      const refused = rx.posts[0]!.body.host;
      const logged = await listAlertLog(db);
      expect(Object.fromEntries(logged.map((e) => [e.rshost, e.delivered]))).toEqual({ w1: refused !== "w1", w2: refused !== "w2" });
      await db.close();
    }, 60_000);

    it("the same message recorded twice is one row; retention expires old rows", async () => {
      const { db } = await freshStore(dialect);
      const entry = (time: number, over: Partial<AlertLogEntry> = {}): AlertLogEntry => ({
        rshost: "a1",
        kind: "server_down",
        state: "firing",
        since: time - 90 * S,
        time,
        message: "no server accepted 3 rounds",
        delivered: true,
        channels: 1,
        sender: "a1",
        ...over,
      });
      expect(await recordAlerts(db, [entry(T0), entry(T0)])).toBe(1);
      expect(await recordAlerts(db, [entry(T0)])).toBe(0);
      expect(await recordAlerts(db, [entry(T0, { state: "resolved" }), entry(T0 - 40 * DAY)])).toBe(2);
      expect(await listAlertLog(db)).toHaveLength(3);
      expect((await listAlertLog(db, { limit: 1 }))[0]!.time).toBe(T0);
      const r = await runRetention(db, T0, 30);
      expect(r.deleted.tb_monitor_alert_log).toBe(1);
      expect((await listAlertLog(db)).map((e) => e.time)).toEqual([T0, T0]);
      await db.close();
    }, 60_000);
  });
}
