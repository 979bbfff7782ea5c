// The alert loop as `pmon server` runs it: the timer, the store the server opened, real reports over
// HTTP, short intervals. A host that stops reporting gets its alert; reporting again brings one recovery.
import { serverKeysOf } from "../../helpers/keys.ts";
import { afterAll, expect, it } from "bun:test";
import { join } from "node:path";
import { postReport } from "../../../src/client/api.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { runServer, type ServerHandle } from "../../../src/server/run.ts";
import { openDb } from "../../../src/store/db.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { recordVersion } from "../../../src/store/versions.ts";
import { VERSION } from "../../../src/version.ts";
import { captureLogger, startReceiver } from "../../helpers/alerts/receiver.ts";
import { makeReport, tempDir, testConfig } from "../../helpers/alerts/helpers.ts";

const rx = startReceiver();
let server: ServerHandle | undefined;
afterAll(async () => {
  await server?.stop();
  await rx.stop();
});

it("pmon server's alert loop: silent alert, recovery, witnesses in replies, counters in /metrics", async () => {
  const dir = tempDir("pmon-loop-");
  const storage = `sqlite:${join(dir, "pmon.db")}`;
  let secret: string;
  {
    const db = openDb(storage);
    await migrate(db);
    await recordVersion(db, VERSION);
    secret = await registerHostWithSecret(db, "loop-h1");
    await db.close();
  }
  const config = testConfig(
    {
      "server.listen": "127.0.0.1:0",
      "server.storage": storage,
      "server.data_dir": dir,
      "alerts.silent_after_s": 1,
      "alerts.check_every_s": 0.1,
      "alerts.repeat_every_s": 3600,
      "alerts.tries": 1,
    },
    [{ type: "wecom", url: `${rx.url}/cgi-bin/webhook/send?key=loop` }],
  );
  server = await runServer(config, captureLogger().log);
  let seq = 0;
  const post = async () => {
    const r = makeReport("loop-h1", `loop-${++seq}`, Date.now());
    return postReport(server!.url, { secret, serverKeys: serverKeysOf(dir), host: r.host, json: JSON.stringify(r), timeMs: Date.now() });
  };
  // the reply names the witnesses (the host list is loaded just after start, so allow a few tries)
  let witnesses: unknown;
  for (let i = 0; i < 20 && !(Array.isArray(witnesses) && witnesses.length); i++) {
    const r = await post();
    expect(r.kind).toBe("delivered");
    if (r.kind === "delivered") witnesses = r.reply.witnesses;
  }
  expect(witnesses).toEqual(["loop-h1"]);

  // no more reports: one alert after ~1 s, no repeat within the hour
  await rx.waitFor((p) => p.length >= 1, 30_000);
  expect(rx.posts[0]!.body.text.content).toContain("进程监控, 超过1s未上报的节点有 : loop-h1");
  const ok = await post();
  expect(ok.kind).toBe("delivered");
  await rx.waitFor((p) => p.length >= 2, 30_000);
  expect(rx.posts[1]!.body.text.content).toContain("告警恢复: 进程监控, 超过1s未上报的节点有 : loop-h1");
  expect(rx.posts).toHaveLength(2);
  const metrics = await (await fetch(server.url + "/metrics")).text();
  expect(metrics).toMatch(/pmon_alert_deliveries_total\{channel="wecom"\} [1-9]/);
  expect(metrics).toMatch(/pmon_alerts_raised_total\{kind="silent"\} [1-9]/);
}, 60_000);
