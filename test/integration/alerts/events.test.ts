// The deploy manager's API: a failed deployment or a rollback is announced once per incident,
// and once more when it clears. Also the agent-side watch in isolation.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { notifyEvent, resolveEvent } from "../../../src/alerts/events.ts";
import { createNotifier } from "../../../src/alerts/notifier.ts";
import { createServerDownWatch } from "../../../src/agent/server-down.ts";
import { openDb } from "../../../src/store/db.ts";
import { captureLogger, startReceiver, type Receiver } from "../../helpers/alerts/receiver.ts";
import { freshStore, testConfig } from "../../helpers/alerts/helpers.ts";

let rx: Receiver;
beforeAll(() => {
  rx = startReceiver();
});
afterAll(() => rx.stop());

describe("notifyEvent", () => {
  it("delivers a deploy failure once per incident, also with two servers, then a recovery", async () => {
    rx.posts.length = 0;
    const { db, url } = await freshStore("sqlite");
    const db2 = openDb(url);
    const config = testConfig({ "alerts.tries": 1 }, [{ type: "wecom", url: `${rx.url}/send?key=k` }]);
    const { log } = captureLogger();
    const a = { config, log, db, owner: "a" };
    const b = { config, log, db: db2, owner: "b" };
    const ev = { host: "10.1.1.5", kind: "deploy_failed" as const, message: "ssh: connect to host 10.1.1.5 port 22: Connection refused" };
    const sent = await Promise.all([notifyEvent(a, ev), notifyEvent(b, ev), notifyEvent(a, ev)]);
    expect(sent.filter(Boolean)).toHaveLength(1);
    expect(await notifyEvent(b, ev)).toBe(false); // the next failed retry of the same incident
    expect(rx.posts).toHaveLength(1);
    expect(rx.posts[0]!.body.text.content).toContain("进程监控, 节点管理异常 : 10.1.1.5 部署失败: ssh: connect to host 10.1.1.5 port 22: Connection refused");
    // a rollback is its own kind
    expect(await notifyEvent(a, { host: "10.1.1.5", kind: "rolled_back", message: "0.2.0 did not report; back to 0.1.0" })).toBe(true);
    expect(await resolveEvent(b, { host: "10.1.1.5", kind: "deploy_failed" })).toBe(true);
    expect(await resolveEvent(a, { host: "10.1.1.5", kind: "deploy_failed" })).toBe(false);
    expect(rx.posts).toHaveLength(3);
    expect(rx.posts[2]!.body.text.content).toContain("告警恢复: 进程监控, 节点管理恢复正常 : 10.1.1.5");
    // a new failure after the recovery is a new incident
    expect(await notifyEvent(a, ev)).toBe(true);
    expect(rx.posts).toHaveLength(4);
    await db2.close();
    await db.close();
  });
});

describe("server-down watch", () => {
  const down = { ok: false, servers: [{ server: "http://s1:9300", kind: "retry", status: null }] };
  const up = (witnesses: string[]) => ({ ok: true, reply: { ok: true, server_version: "x", witnesses }, servers: [{ server: "http://s1:9300", kind: "delivered", status: 200 }] });

  function watchFor(host: string) {
    const { log } = captureLogger();
    return createServerDownWatch({ host, rounds: 3, language: "en", log, notifier: createNotifier({ channels: [{ type: "webhook", url: `${rx.url}/h` }], log, tries: 1 }) });
  }

  it("the first witness alerts on the 3rd failed round, once, and recovers once", async () => {
    rx.posts.length = 0;
    const w = watchFor("a1");
    w.onRound(up(["a1", "a2", "a3"]));
    w.onRound(down);
    w.onRound(down);
    await w.idle();
    expect(rx.posts).toHaveLength(0);
    w.onRound(down);
    for (let i = 0; i < 5; i++) w.onRound(down);
    await w.idle();
    expect(rx.posts).toHaveLength(1);
    expect(rx.posts[0]!.body).toMatchObject({ host: "a1", kind: "server_down", state: "firing" });
    w.onRound(up(["a1", "a2", "a3"]));
    w.onRound(up(["a1", "a2", "a3"]));
    await w.idle();
    expect(rx.posts).toHaveLength(2);
    expect(rx.posts[1]!.body.state).toBe("resolved");
  });

  it("other witnesses, agents without a list, and refused (4xx) rounds send nothing", async () => {
    rx.posts.length = 0;
    const second = watchFor("a2");
    second.onRound(up(["a1", "a2", "a3"]));
    const fresh = watchFor("a1"); // never heard a list
    const refused = watchFor("a1");
    refused.onRound(up(["a1"]));
    for (let i = 0; i < 6; i++) {
      second.onRound(down);
      fresh.onRound(down);
      refused.onRound({ ok: false, servers: [{ server: "http://s1:9300", kind: "rejected", status: 403 }] });
    }
    await Promise.all([second.idle(), fresh.idle(), refused.idle()]);
    expect(rx.posts).toHaveLength(0);
    expect(second.state.failedRounds).toBe(6);
    expect(refused.state.failedRounds).toBe(0);
  });
});
