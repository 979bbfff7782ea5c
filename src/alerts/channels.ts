// The four channel formats: how an AlertEvent becomes an HTTP request, and how each robot says "ok".
// Robots answer HTTP 200 even when they refuse a message, so the body decides.
import { createHmac } from "node:crypto";
import type { AlertChannel } from "../config/schema.ts";
import type { AlertEvent } from "./event.ts";
import { formatTime } from "./messages.ts";

export interface ChannelRequest {
  url: string;
  body: string;
}

/** The text robots show: the time on the first line, as the old WeCom messages had it. */
function robotText(event: AlertEvent): string {
  return `${formatTime(event.time)}\n${event.message}`;
}

/** DingTalk signing: HMAC-SHA256 keyed by the secret over "<ms>\n<secret>", base64, sent as query params. */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac("sha256", secret).update(`${timestampMs}\n${secret}`).digest("base64");
}

/** Feishu signing: HMAC-SHA256 keyed by "<seconds>\n<secret>" over an empty message, base64, sent in the body. */
export function feishuSign(secret: string, timestampS: number): string {
  return createHmac("sha256", `${timestampS}\n${secret}`).update("").digest("base64");
}

export function buildRequest(channel: AlertChannel, event: AlertEvent, nowMs: number): ChannelRequest {
  switch (channel.type) {
    case "wecom":
      return { url: channel.url, body: JSON.stringify({ msgtype: "text", text: { content: robotText(event) } }) };
    case "dingtalk": {
      let url = channel.url;
      if (channel.secret) {
        const u = new URL(channel.url);
        u.searchParams.set("timestamp", String(nowMs));
        u.searchParams.set("sign", dingtalkSign(channel.secret, nowMs));
        url = u.toString();
      }
      return { url, body: JSON.stringify({ msgtype: "text", text: { content: robotText(event) } }) };
    }
    case "feishu": {
      const seconds = Math.floor(nowMs / 1000);
      const signed = channel.secret ? { timestamp: String(seconds), sign: feishuSign(channel.secret, seconds) } : {};
      return { url: channel.url, body: JSON.stringify({ ...signed, msg_type: "text", content: { text: robotText(event) } }) };
    }
    case "webhook":
      return {
        url: channel.url,
        body: JSON.stringify({
          host: event.host,
          kind: event.kind,
          state: event.state,
          since: new Date(event.since).toISOString(),
          message: event.message,
          time: new Date(event.time).toISOString(),
        }),
      };
  }
}

/** null when the channel accepted the message, else a short reason (never the URL). */
export function checkResponse(channel: AlertChannel, status: number, bodyText: string): string | null {
  if (status < 200 || status >= 300) return `HTTP ${status}`;
  if (channel.type === "webhook") return null;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(bodyText) as Record<string, unknown>;
  } catch {
    return "answer is not JSON";
  }
  if (typeof body !== "object" || body === null) return "answer is not a JSON object";
  if (channel.type === "feishu") {
    // Current Feishu answers {"code":0,...}; older endpoints {"StatusCode":0,...}.
    const code = "code" in body ? body.code : body.StatusCode;
    if (code === 0) return null;
    return `code ${JSON.stringify(code)}: ${String(body.msg ?? body.StatusMessage ?? "")}`.slice(0, 200);
  }
  if (body.errcode === 0) return null;
  return `errcode ${JSON.stringify(body.errcode)}: ${String(body.errmsg ?? "")}`.slice(0, 200);
}

/** What logs may say about a channel: its type and the URL's host, never the path or key. */
export function describeChannel(channel: AlertChannel): string {
  let host = "?";
  try {
    host = new URL(channel.url).host;
  } catch {}
  return `${channel.type}@${host}`;
}
