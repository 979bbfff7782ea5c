// Saturation at ingest with synthetic reports: the condition must hold for cpu_for_s, one alert per
// incident, one recovery, and the incident survives a restart (a new tracker over the same store).
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createAlertService } from "../../../src/alerts/loop.ts";
import { listAlertLog } from "../../../src/store/alert-log.ts";
import { getAlert } from "../../../src/store/alerts.ts";
import { openDb } from "../../../src/store/db.ts";
import type { Report } from "../../../src/protocol/report.ts";
import { captureLogger, startReceiver, type Receiver } from "../../helpers/alerts/receiver.ts";
import { freshStore, makeReport, runningHost, testConfig, type Dialect } from "../../helpers/alerts/helpers.ts";

const T0 = Date.parse("2026-11-25T09:00:00Z");
const S = 1000;

let rx: Receiver;
beforeAll(() => {
  rx = startReceiver();
});
afterAll(() => rx.stop());

function busy(host: string, t: number, idle: number): Report {
  const r = makeReport(host, `${host}-${t}`, t, {
    processes: [
      {
        pid: 4242,
        start_time: 0,
        ppid: 1,
        user: "mysql",
        comm: "mysqld",
        cmdline: "/usr/sbin/mysqld --port=3307",
        instance: "--port=3307",
        cpu_pct: 180,
        rss_bytes: 1024 ** 3,
        read_bytes_per_s: 0,
        write_bytes_per_s: 0,
        net_rx_bytes_per_s: 0,
        net_tx_bytes_per_s: 0,
        threads: 30,
      },
    ],
  });
  r.system.cpu = { ...r.system.cpu, count: 2, idle_pct: idle, user_pct: 100 - idle, system_pct: 0 };
  return r;
}

for (const dialect of ["sqlite", "mysql"] as Dialect[]) {
  describe(`saturation (${dialect})`, () => {
    it("alerts once after cpu_for_s, recovers once, and a restarted server sends the recovery", async () => {
      rx.posts.length = 0;
      const { db, url } = await freshStore(dialect);
      await runningHost(db, "db1", T0);
      const config = testConfig({ "alerts.cpu_pct": 90, "alerts.cpu_for_s": 300, "alerts.tries": 1 }, [{ type: "webhook", url: `${rx.url}/hook` }]);
      const { log } = captureLogger();
      const a = createAlertService({ config, log, db, owner: "a", now: () => T0 });
      const cpu = (state: string) => rx.posts.filter((p) => p.body.kind === "cpu" && p.body.state === state);

      // 97 % busy from T0, reports every 30 s
      for (let t = 0; t < 300; t += 30) await a.onReport(busy("db1", T0 + t * S, 3), T0 + t * S);
      expect(cpu("firing")).toHaveLength(0); // 4 min 30 s: not yet
      await a.onReport(busy("db1", T0 + 300 * S, 3), T0 + 300 * S);
      expect(cpu("firing")).toHaveLength(1);
      expect(cpu("firing")[0]!.body.message).toContain("CPU 97 % 持续 5min");
      expect(cpu("firing")[0]!.body.message).toContain("mysqld --port=3307 (pid 4242) 90 %");
      for (let t = 330; t < 900; t += 30) await a.onReport(busy("db1", T0 + t * S, 3), T0 + t * S);
      expect(cpu("firing")).toHaveLength(1); // one per incident
      expect((await getAlert(db, "db1", "cpu"))!.istate).toBe(1);

      // the server restarts while the host is still busy; then the host calms down
      const db2 = openDb(url);
      const b = createAlertService({ config, log, db: db2, owner: "b", now: () => T0 });
      await b.onReport(busy("db1", T0 + 900 * S, 3), T0 + 900 * S);
      expect(cpu("firing")).toHaveLength(1);
      await b.onReport(busy("db1", T0 + 930 * S, 60), T0 + 930 * S);
      await b.onReport(busy("db1", T0 + 960 * S, 60), T0 + 960 * S);
      expect(cpu("resolved")).toHaveLength(1);
      expect(cpu("resolved")[0]!.body.message).toContain("持续 15min");
      expect(cpu("resolved")[0]!.body.since).toBe(new Date(T0).toISOString());

      // a short spike under cpu_for_s raises nothing
      await b.onReport(busy("db1", T0 + 990 * S, 1), T0 + 990 * S);
      await b.onReport(busy("db1", T0 + 1020 * S, 80), T0 + 1020 * S);
      expect(cpu("firing")).toHaveLength(1);
      await db2.close();
      await db.close();
    }, 60_000);

    it("a full filesystem alerts at once (fs:<mount>); two servers evaluating the same report send once", async () => {
      rx.posts.length = 0;
      const { db, url } = await freshStore(dialect);
      const db2 = openDb(url);
      const config = testConfig({ "alerts.fs_pct": 90, "alerts.tries": 1, "alerts.language": "en" }, [{ type: "webhook", url: `${rx.url}/hook` }]);
      const { log } = captureLogger();
      const a = createAlertService({ config, log, db, owner: "a" });
      const b = createAlertService({ config, log, db: db2, owner: "b" });
      const full = makeReport("web1", "f1", T0);
      full.system.filesystems = [{ device: "/dev/sdb1", mount: "/data", fstype: "xfs", total_bytes: 1000, used_bytes: 950, free_bytes: 50 }];
      await Promise.all([a.onReport(full, T0), b.onReport(full, T0)]);
      const fs = rx.posts.filter((p) => p.body.kind === "fs:/data");
      expect(fs).toHaveLength(1);
      expect(fs[0]!.body.message).toContain("filesystem /data 95 %");
      const logged = await listAlertLog(db);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ rshost: "web1", kind: "fs:/data", state: "firing", time: T0, message: fs[0]!.body.message, delivered: true, channels: 1 });
      await db2.close();
      await db.close();
    }, 60_000);
  });
}
