import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createHmac } from "node:crypto";
import { dingtalkSign, feishuSign } from "../../../src/alerts/channels.ts";
import type { AlertEvent } from "../../../src/alerts/event.ts";
import { alertMetrics, renderAlertMetrics } from "../../../src/alerts/metrics.ts";
import { createNotifier } from "../../../src/alerts/notifier.ts";
import { captureLogger, startReceiver, type Receiver } from "../../helpers/alerts/receiver.ts";

const T0 = Date.parse("2026-11-25T10:00:00Z");
const event: AlertEvent = { host: "10.0.0.7", kind: "silent", state: "firing", since: T0 - 150_000, time: T0, message: "进程监控, 超过2min未上报的节点有 : 10.0.0.7" };

let rx: Receiver;
beforeAll(() => {
  rx = startReceiver();
});
afterAll(() => rx.stop());

function reset() {
  rx.posts.length = 0;
  rx.script.length = 0;
}

describe("channel formats", () => {
  it("wecom: the old text message, time on the first line", async () => {
    reset();
    const { log } = captureLogger();
    const n = createNotifier({ channels: [{ type: "wecom", url: `${rx.url}/cgi-bin/webhook/send?key=SECRETKEY` }], log, backoffMs: 1 });
    expect(await n.send(event)).toBe(true);
    expect(rx.posts).toHaveLength(1);
    expect(rx.posts[0]!.path).toBe("/cgi-bin/webhook/send");
    expect(rx.posts[0]!.body).toEqual({ msgtype: "text", text: { content: "2026-11-25 10:00:00 UTC\n进程监控, 超过2min未上报的节点有 : 10.0.0.7" } });
  });

  it("dingtalk: signed with timestamp and sign query parameters", async () => {
    reset();
    const { log } = captureLogger();
    const secret = "SEC0123456789abcdef";
    const n = createNotifier({ channels: [{ type: "dingtalk", url: `${rx.url}/robot/send?access_token=TOKEN`, secret }], log, now: () => T0 });
    expect(await n.send(event)).toBe(true);
    const p = rx.posts[0]!;
    expect(p.query.get("access_token")).toBe("TOKEN");
    expect(p.query.get("timestamp")).toBe(String(T0));
    // the receiver checks the signature the way DingTalk documents it
    const expected = createHmac("sha256", secret).update(`${T0}\n${secret}`).digest("base64");
    expect(p.query.get("sign")).toBe(expected);
    expect(dingtalkSign(secret, T0)).toBe(expected);
    expect(p.body.msgtype).toBe("text");
    expect(p.body.text.content).toContain("10.0.0.7");
  });

  it("dingtalk without a secret adds no signature", async () => {
    reset();
    const n = createNotifier({ channels: [{ type: "dingtalk", url: `${rx.url}/robot/send?access_token=T` }], log: captureLogger().log });
    await n.send(event);
    expect(rx.posts[0]!.query.has("sign")).toBe(false);
  });

  it("feishu: timestamp and sign in the body, HMAC keyed by '<seconds>\\n<secret>'", async () => {
    reset();
    rx.script.push({ body: { code: 0, msg: "success", data: {} } });
    const secret = "feishu-secret";
    const n = createNotifier({ channels: [{ type: "feishu", url: `${rx.url}/open-apis/bot/v2/hook/abc`, secret }], log: captureLogger().log, now: () => T0 + 999 });
    expect(await n.send(event)).toBe(true);
    const b = rx.posts[0]!.body;
    const seconds = Math.floor((T0 + 999) / 1000);
    expect(b.timestamp).toBe(String(seconds));
    expect(b.sign).toBe(createHmac("sha256", `${seconds}\n${secret}`).update("").digest("base64"));
    expect(feishuSign(secret, seconds)).toBe(b.sign);
    expect(b.msg_type).toBe("text");
    expect(b.content.text).toBe("2026-11-25 10:00:00 UTC\n" + event.message);
  });

  it("feishu: the old StatusCode answer is accepted too, a non-zero code is a failure", async () => {
    reset();
    rx.script.push({ body: { StatusCode: 0, StatusMessage: "success" } });
    const n = createNotifier({ channels: [{ type: "feishu", url: `${rx.url}/hook/x` }], log: captureLogger().log, tries: 1 });
    expect(await n.send(event)).toBe(true);
    rx.script.push({ body: { code: 19021, msg: "sign match fail" } });
    expect(await n.send(event)).toBe(false);
  });

  it("webhook: the generic JSON document", async () => {
    reset();
    rx.script.push({ status: 204, body: "" });
    const n = createNotifier({ channels: [{ type: "webhook", url: `${rx.url}/hooks/pmon` }], log: captureLogger().log });
    expect(await n.send({ ...event, state: "resolved" })).toBe(true);
    expect(rx.posts[0]!.body).toEqual({
      host: "10.0.0.7",
      kind: "silent",
      state: "resolved",
      since: new Date(T0 - 150_000).toISOString(),
      message: event.message,
      time: new Date(T0).toISOString(),
    });
  });
});

describe("delivery", () => {
  it("retries an HTTP 500 and an errcode answer with backoff, then succeeds; counts failures", async () => {
    reset();
    rx.script.push({ status: 500, body: { error: "boom" } }, { body: { errcode: 93000, errmsg: "invalid webhook url" } });
    const before = { attempts: alertMetrics.attemptFailures.wecom, delivered: alertMetrics.delivered.wecom };
    const { log, lines } = captureLogger();
    const n = createNotifier({ channels: [{ type: "wecom", url: `${rx.url}/send?key=VERYSECRETKEY` }], log, tries: 3, backoffMs: 40 });
    expect(await n.send(event)).toBe(true);
    expect(rx.posts).toHaveLength(3);
    // backoff doubles: at least 40 ms then 80 ms between the attempts
    expect(rx.posts[1]!.at - rx.posts[0]!.at).toBeGreaterThanOrEqual(35);
    expect(rx.posts[2]!.at - rx.posts[1]!.at).toBeGreaterThanOrEqual(75);
    expect(alertMetrics.attemptFailures.wecom - before.attempts).toBe(2);
    expect(alertMetrics.delivered.wecom - before.delivered).toBe(1);
    expect(lines.join("\n")).toContain("errcode 93000");
    expect(lines.join("\n")).toContain("HTTP 500");
    // the robot key never reaches the logs; the host of the URL does
    expect(lines.join("\n")).not.toContain("VERYSECRETKEY");
    expect(lines.join("\n")).not.toContain("/send");
    expect(lines.join("\n")).toContain("wecom@127.0.0.1");
  });

  it("gives up after the last try and counts the failure in /metrics text", async () => {
    reset();
    rx.script.push({ status: 500 }, { status: 502 }, { body: { errcode: 45009, errmsg: "api freq out of limit" } });
    const before = alertMetrics.failed.wecom;
    const { log, lines } = captureLogger();
    const n = createNotifier({ channels: [{ type: "wecom", url: `${rx.url}/send?key=K2SECRET` }], log, tries: 3, backoffMs: 1 });
    expect(await n.send(event)).toBe(false);
    expect(rx.posts).toHaveLength(3);
    expect(alertMetrics.failed.wecom).toBe(before + 1);
    expect(renderAlertMetrics()).toContain(`pmon_alert_delivery_failures_total{channel="wecom"} ${before + 1}`);
    expect(lines.join("\n")).not.toContain("K2SECRET");
  });

  it("an unreachable channel does not stop the others; the URL stays out of the logs", async () => {
    reset();
    const { log, lines } = captureLogger();
    const dead = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const deadUrl = `http://127.0.0.1:${dead.port}/x?key=DEADKEY`;
    await dead.stop(true);
    const n = createNotifier({
      channels: [
        { type: "webhook", url: deadUrl },
        { type: "wecom", url: `${rx.url}/send?key=LIVE` },
      ],
      log,
      tries: 2,
      backoffMs: 1,
    });
    expect(await n.send(event)).toBe(true);
    expect(rx.posts).toHaveLength(1);
    expect(lines.join("\n")).toContain("webhook@127.0.0.1");
    expect(lines.join("\n")).not.toContain("DEADKEY");
  });

  it("a batch goes to robots as few messages under WeCom's 2048-byte limit, to the webhook one by one", async () => {
    reset();
    const n = createNotifier({
      channels: [
        { type: "wecom", url: `${rx.url}/wecom?key=k` },
        { type: "webhook", url: `${rx.url}/webhook` },
      ],
      log: captureLogger().log,
    });
    const events = Array.from({ length: 60 }, (_, i) => ({ ...event, host: `10.0.1.${i}`, message: `进程监控, 超过2min未上报的节点有 : 10.0.1.${i} (自 2026-11-25 09:57:30 UTC 起未上报, 第 1/10 次告警)` }));
    expect(await n.sendAll(events)).toBe(true);
    const robot = rx.posts.filter((p) => p.path === "/wecom");
    const hooks = rx.posts.filter((p) => p.path === "/webhook");
    expect(hooks).toHaveLength(60);
    expect(robot.length).toBeGreaterThan(1);
    expect(robot.length).toBeLessThan(15);
    for (const p of robot) expect(Buffer.byteLength(p.body.text.content)).toBeLessThanOrEqual(2048);
    const lines = robot.flatMap((p) => p.body.text.content.split("\n").slice(1));
    expect(lines).toEqual(events.map((e) => e.message));
  });

  it("a channel that never answers times out", async () => {
    reset();
    const hang = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Promise<Response>(() => {}) });
    const { log, lines } = captureLogger();
    const n = createNotifier({ channels: [{ type: "webhook", url: `http://127.0.0.1:${hang.port}/h` }], log, tries: 1, timeoutMs: 200 });
    expect(await n.send(event)).toBe(false);
    expect(lines.join("\n")).toContain("timed out after 200 ms");
    await hang.stop(true);
  });
});
