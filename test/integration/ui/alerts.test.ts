// The alerts page's data end to end: a real agent (the compiled binary) reports this machine to two
// in-process servers sharing one store, with a memory threshold every host crosses; the alert goes to a
// real HTTP receiver once, is in the alert log once, and the UI's alerts route of either server lists
// it. On SQLite and on the test MariaDB.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { registerHostWithSecret, writeSecretFile } from "../../../src/fleet/register.ts";
import { loadReplyKey } from "../../../src/keys/reply-key.ts";
import { runServer, type ServerHandle } from "../../../src/server/run.ts";
import type { AlertLogEntry } from "../../../src/store/alert-log.ts";
import { openDb } from "../../../src/store/db.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { recordVersion } from "../../../src/store/versions.ts";
import { VERSION } from "../../../src/version.ts";
import { until } from "../../helpers/agent/harness.ts";
import { captureLogger, startReceiver } from "../../helpers/alerts/receiver.ts";
import { tempDir, testConfig, type Dialect } from "../../helpers/alerts/helpers.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { startAgent, type Proc } from "../../helpers/server/procs.ts";

const SECRET = "operator-secret-for-the-alert-log-test";
const rx = startReceiver();
const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  await rx.stop();
});

async function alertsRoute(base: string): Promise<{ open: { rshost: string; kind: string }[]; log: AlertLogEntry[] }> {
  const login = await fetch(`${base}/ui/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ secret: SECRET }) });
  expect(login.status).toBe(200);
  const cookie = /pmon_session=[^;]*/.exec(login.headers.get("set-cookie") ?? "")![0];
  const res = await fetch(`${base}/ui/api/alerts`, { headers: { cookie } });
  expect(res.status).toBe(200);
  return (await res.json()) as never;
}

for (const dialect of ["sqlite", "mysql"] as Dialect[]) {
  describe(`alert log (${dialect})`, () => {
    test("a real agent's alert is sent once, logged once, and listed by the alerts route of both servers", async () => {
      const dir = tempDir("pmon-ui-alerts-");
      const storage = dialect === "sqlite" ? `sqlite:${join(dir, "pmon.db")}` : (await testMariaDB("pmon_ui_alerts")).url;
      const host = `alerting-${dialect}`;
      const secretFile = join(dir, "agent.secret");
      {
        const db = openDb(storage);
        await migrate(db);
        await recordVersion(db, VERSION);
        // both servers hold the one fleet reply key; the agent pins it, as enroll would write it
        const replyKey = loadReplyKey(join(dir, "reply.key"), { create: true });
        writeSecretFile(secretFile, await registerHostWithSecret(db, host), [replyKey.publicKey]);
        await db.close();
      }
      writeFileSync(join(dir, "operator.secret"), SECRET + "\n", { mode: 0o600 });
      const servers: ServerHandle[] = [];
      for (const name of ["a", "b"]) {
        // any memory use crosses 0 %: the first report raises a mem alert
        const config = testConfig(
          {
            "server.listen": "127.0.0.1:0",
            "server.storage": storage,
            "server.data_dir": join(dir, name),
            "server.operator_secret_file": join(dir, "operator.secret"),
            "server.reply_key_file": join(dir, "reply.key"),
            "alerts.mem_pct": 0,
            "alerts.mem_for_s": 0,
            "alerts.language": "en",
            "alerts.tries": 1,
          },
          [{ type: "webhook", url: `${rx.url}/hook` }],
        );
        const s = await runServer(config, captureLogger().log);
        cleanup.push(() => s.stop());
        servers.push(s);
      }
      // the agent reports to both in turn when one refuses; here it keeps to the first that accepts
      const agent: Proc = startAgent({ dir, host, servers: servers.map((s) => s.url), secretFile });
      cleanup.push(() => agent.proc.kill("SIGKILL"));
      const mine = () => rx.posts.filter((p) => p.body.host === host && p.body.kind === "mem");
      await rx.waitFor(() => mine().length > 0, 60_000);

      const db = openDb(storage);
      cleanup.push(() => db.close());
      // a few more reports: still one incident, one message
      const reports = async () => Number((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE rshost = ?", [host]))[0]!.n);
      const after = await reports();
      await until(async () => (await reports()) >= after + 3, 30_000, "3 more reports");
      expect(mine()).toHaveLength(1);
      const sent = mine()[0]!.body;
      expect(sent.state).toBe("firing");
      expect(sent.message).toContain(`pmon: ${host}: memory`);

      for (const s of servers) {
        const reply = await alertsRoute(s.url);
        expect(reply.open.filter((o) => o.rshost === host).map((o) => o.kind)).toContain("mem");
        const logged = reply.log.filter((e) => e.rshost === host && e.kind === "mem");
        expect(logged).toHaveLength(1);
        expect(logged[0]).toMatchObject({ state: "firing", message: sent.message, delivered: true, channels: 1, time: Math.floor(Date.parse(sent.time) / 1000) * 1000 });
      }
      agent.proc.kill("SIGKILL");
      await agent.exited;
    }, 120_000);
  });
}
