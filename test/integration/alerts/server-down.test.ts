// The server stops while 20 agents report: exactly one alert and one recovery reach the receiver.
// Then the first witness dies first and the server stops again: still exactly one (from witness #2).
// The server is the real one (runServer over HTTP on loopback, really stopped and restarted); the
// agents are in-process instances of the real agent loop, transport and spool with short intervals.
// The agents' alerts reach the server's alert log with their next accepted reports, once each.
import { serverKeysOf } from "../../helpers/keys.ts";
import { afterAll, expect, it } from "bun:test";
import { join } from "node:path";
import { createServerDownWatch, withSentAlerts, type ServerDownWatch } from "../../../src/agent/server-down.ts";
import { runAgentLoop } from "../../../src/agent/loop.ts";
import { Spool } from "../../../src/agent/spool.ts";
import { createTransport } from "../../../src/agent/transport.ts";
import { createNotifier } from "../../../src/alerts/notifier.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { runServer, type ServerHandle } from "../../../src/server/run.ts";
import { listAlertLog } from "../../../src/store/alert-log.ts";
import { openDb } from "../../../src/store/db.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { recordVersion } from "../../../src/store/versions.ts";
import { VERSION } from "../../../src/version.ts";
import { captureLogger, startReceiver } from "../../helpers/alerts/receiver.ts";
import { makeReport, tempDir, testConfig, until } from "../../helpers/alerts/helpers.ts";

const AGENTS = 20;
const INTERVAL_MS = 250;
const ROUNDS = 3;

const rx = startReceiver();
const stops: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
  await rx.stop();
});

it("server down: one alert and one recovery from 20 agents; still one when the first witness is gone too", async () => {
  const dir = tempDir("pmon-sd-");
  const storage = `sqlite:${join(dir, "pmon.db")}`;
  const hosts = Array.from({ length: AGENTS }, (_, i) => `sd-h${String(i + 1).padStart(2, "0")}`);

  // The store exists before the server: hosts registered, this version recorded (no redeploy on start).
  const secrets = new Map<string, string>();
  {
    const db = openDb(storage);
    await migrate(db);
    await recordVersion(db, VERSION);
    for (const h of hosts) secrets.set(h, await registerHostWithSecret(db, h));
    await db.close();
  }
  const serverConfig = (listen: string) =>
    testConfig(
      {
        "server.listen": listen,
        "server.storage": storage,
        "server.data_dir": dir,
        "alerts.witness_fresh_s": 3,
        "alerts.check_every_s": 3600,
      },
      [], // the server itself sends nothing here; the agents' alerts go to the receiver
    );
  const { log: serverLog } = captureLogger();
  let server: ServerHandle | undefined = await runServer(serverConfig("127.0.0.1:0"), serverLog);
  const port = server.port;
  const url = `http://127.0.0.1:${port}`;
  stops.push(() => server?.stop());

  // 20 agents: the real loop, transport and spool; the watch is the onRound hook.
  const agentLog = captureLogger().log;
  const agents = hosts.map((host) => {
    const abort = new AbortController();
    const watch: ServerDownWatch = createServerDownWatch({
      host,
      rounds: ROUNDS,
      language: "en",
      notifier: createNotifier({ channels: [{ type: "webhook", url: `${rx.url}/hook` }], log: agentLog, tries: 1 }),
      log: agentLog,
    });
    let seq = 0;
    const done = runAgentLoop({
      intervalMs: INTERVAL_MS,
      jitterMs: INTERVAL_MS,
      replayPerS: 50,
      collect: () => withSentAlerts(makeReport(host, `${host}-${++seq}`, Date.now()), watch),
      transport: createTransport({ servers: [url], secret: secrets.get(host)!, serverKeys: serverKeysOf(dir), log: agentLog, timeoutMs: 2000 }),
      spool: new Spool(join(dir, "spool", host), { maxBytes: 10 * 1024 * 1024, maxAgeMs: 3_600_000 }, agentLog),
      log: agentLog,
      version: VERSION,
      onRound: (r) => watch.onRound(r),
      signal: abort.signal,
    });
    return { host, watch, abort, done };
  });
  const stopAgent = async (a: (typeof agents)[number]) => {
    a.abort.abort();
    await a.done;
  };
  stops.push(() => Promise.all(agents.map(stopAgent)));
  const live = () => agents.filter((a) => !a.abort.signal.aborted);
  const firing = () => rx.posts.filter((p) => p.body.kind === "server_down" && p.body.state === "firing");
  const resolved = () => rx.posts.filter((p) => p.body.kind === "server_down" && p.body.state === "resolved");
  const sameList = (w: string[]) => live().every((a) => JSON.stringify(a.watch.state.witnesses) === JSON.stringify(w));

  // Every agent has heard the same witness list.
  await until(() => sameList(["sd-h01", "sd-h02", "sd-h03"]), "all agents hold witnesses sd-h01..03");

  // --- outage 1: the server stops ---
  await server.stop();
  server = undefined;
  await until(() => live().every((a) => a.watch.state.failedRounds >= ROUNDS + 3), "every agent failed 3 rounds past the threshold");
  await Promise.all(agents.map((a) => a.watch.idle()));
  expect(firing()).toHaveLength(1);
  expect(firing()[0]!.body.host).toBe("sd-h01");
  expect(firing()[0]!.body.message).toContain("sd-h01 reports: no pmon server accepts reports");

  server = await runServer(serverConfig(`127.0.0.1:${port}`), serverLog);
  await until(() => resolved().length >= 1, "a recovery message");
  await until(() => live().every((a) => a.watch.state.failedRounds === 0), "every agent reports again");
  await Promise.all(agents.map((a) => a.watch.idle()));
  expect(resolved()).toHaveLength(1);
  expect(resolved()[0]!.body.host).toBe("sd-h01");
  expect(firing()).toHaveLength(1);
  // the server's alert log: both messages, from the agent that sent them, once (spool replays carry them too)
  const serverDownLog = async () => (await listAlertLog(server!.db)).filter((e) => e.kind === "server_down").reverse();
  await until(async () => (await serverDownLog()).length >= 2, "the agent's alerts in the server's alert log");
  expect((await serverDownLog()).map((e) => [e.rshost, e.state, e.sender, e.delivered, e.channels, e.time, e.message])).toEqual(
    [...firing(), ...resolved()].map((p) => ["sd-h01", p.body.state, "sd-h01", true, 1, Math.floor(Date.parse(p.body.time) / 1000) * 1000, p.body.message]),
  );

  // --- outage 2: the first witness dies, then the server stops ---
  await stopAgent(agents[0]!);
  await until(() => sameList(["sd-h02", "sd-h03", "sd-h04"]), "the server dropped sd-h01 from the witnesses and every agent heard it", 30_000);
  await server.stop();
  server = undefined;
  await until(() => live().every((a) => a.watch.state.failedRounds >= ROUNDS + 3), "every agent failed 3 rounds past the threshold");
  await Promise.all(agents.map((a) => a.watch.idle()));
  expect(firing()).toHaveLength(2);
  expect(firing()[1]!.body.host).toBe("sd-h02");

  server = await runServer(serverConfig(`127.0.0.1:${port}`), serverLog);
  await until(() => resolved().length >= 2, "the second recovery");
  await until(() => live().every((a) => a.watch.state.failedRounds === 0), "every agent reports again");
  await Promise.all(agents.map((a) => a.watch.idle()));
  expect(resolved()).toHaveLength(2);
  expect(resolved()[1]!.body.host).toBe("sd-h02");
  expect(rx.posts.filter((p) => p.body.kind === "server_down")).toHaveLength(4);
  await until(async () => (await serverDownLog()).length >= 4, "the second outage's alerts in the alert log");
  // a few more rounds (and replays) change nothing
  await Bun.sleep(INTERVAL_MS * 4);
  expect((await serverDownLog()).map((e) => [e.rshost, e.state])).toEqual([
    ["sd-h01", "firing"],
    ["sd-h01", "resolved"],
    ["sd-h02", "firing"],
    ["sd-h02", "resolved"],
  ]);
}, 180_000);
