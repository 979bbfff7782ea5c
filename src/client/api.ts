// Typed HTTP calls to the server: the one place on the calling side that knows URLs and status codes.
import type { KeyObject } from "node:crypto";
import { HEADERS, isRetryable, MAX_REPLY_BYTES, ROUTES, signedHeaders, verifyReply, type ErrorReply, type HostsReply, type ReportReply } from "../protocol/api.ts";
import { escapeControls } from "../util/terminal.ts";

export type PostResult =
  /** 2xx: the server stored it (or already had it) */
  | { kind: "delivered"; status: number; reply: ReportReply }
  /** 4xx that resending cannot fix: drop it and count it */
  | { kind: "rejected"; status: number; code: string; error: string }
  /** 5xx, timeouts, 408/429/409, stale time, network errors: keep it and try elsewhere or later */
  | { kind: "retry"; status: number | null; code: string; error: string; serverTime?: number };

export interface PostOptions {
  /** the host's private key (PEM) */
  secret: string;
  /** the pinned public keys of the servers' reply key: a reply none of them signed is not acted on */
  serverKeys: readonly KeyObject[];
  /** PEM CA certificates for https servers (agent.ca_file); default the system's */
  ca?: string;
  host: string;
  /** the report JSON, exactly as it will be signed */
  json: string;
  /** the X-Pmon-Replay header: this report comes from the spool */
  replay?: boolean;
  /** signing time (epoch ms), the SEND time */
  timeMs: number;
  timeoutMs?: number;
  /** gzip bodies over this many bytes (default 4096); the signature covers the bytes sent */
  gzipOver?: number;
}

/** POST /v1/report to one server. Never throws: every outcome is a PostResult. */
export async function postReport(serverUrl: string, o: PostOptions): Promise<PostResult> {
  const plain = new TextEncoder().encode(o.json);
  const gzip = plain.byteLength > (o.gzipOver ?? 4096);
  // Bun.gzipSync: the same gzip, without loading node:zlib (some 6 ms and 4 MB at every agent start)
  const body = gzip ? Bun.gzipSync(plain) : plain;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...signedHeaders(o.secret, o.host, o.timeMs, body),
    ...(gzip ? { "content-encoding": "gzip" } : {}),
    ...(o.replay ? { [HEADERS.replay]: "1" } : {}),
  };
  let res: Response;
  let bytes: Uint8Array | undefined;
  try {
    res = await fetch(joinUrl(serverUrl, ROUTES.report), {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
      ...(o.ca ? { tls: { ca: o.ca } } : {}),
    });
    bytes = await readReply(res, MAX_REPLY_BYTES);
  } catch (e) {
    return { kind: "retry", status: null, code: "network", error: (e as Error).message };
  }
  if (!bytes) return { kind: "retry", status: res.status, code: "reply_too_large", error: `reply longer than ${MAX_REPLY_BYTES} bytes: not acted on` };
  // Only a reply signed by a pinned server key may drain the spool, start an upgrade or name witnesses.
  const requestSignature = headers[HEADERS.signature]!;
  if (!verifyReply(o.serverKeys, requestSignature, res.status, bytes, res.headers.get(HEADERS.replySignature))) {
    // What the unsigned reply claims is shown (it may explain, e.g. "not enrolled"), never acted on.
    const claim = unverifiedClaim(bytes);
    return { kind: "retry", status: res.status, code: "bad_reply_signature", error: `HTTP ${res.status}${claim ? ` (${claim})` : ""} reply not signed by a pinned server key (agent.server_keys): not acted on` };
  }
  const text = new TextDecoder().decode(bytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (res.ok) {
    const reply = (parsed && typeof parsed === "object" ? parsed : { ok: true, server_version: "" }) as ReportReply;
    return { kind: "delivered", status: res.status, reply };
  }
  const err = (parsed ?? {}) as Partial<ErrorReply> & { server_time?: number };
  const code = err.code ?? `http_${res.status}`;
  const error = err.error ?? (text.slice(0, 200) || res.statusText);
  if (isRetryable(res.status, code)) {
    const dateHeader = res.headers.get("date");
    const serverTime = typeof err.server_time === "number" ? err.server_time : dateHeader ? Date.parse(dateHeader) : undefined;
    return { kind: "retry", status: res.status, code, error, ...(serverTime && Number.isFinite(serverTime) ? { serverTime } : {}) };
  }
  return { kind: "rejected", status: res.status, code, error };
}

/** `code: error` of an unsigned error reply, cut short, or "" when it has none. */
function unverifiedClaim(bytes: Uint8Array): string {
  try {
    const o = JSON.parse(new TextDecoder().decode(bytes)) as Partial<ErrorReply>;
    if (typeof o.code !== "string") return "";
    return escapeControls(`says ${o.code}${typeof o.error === "string" ? `: ${o.error}` : ""}`.slice(0, 160));
  } catch {
    return "";
  }
}

/** The reply body, or undefined when it is longer than `max` (reading stops there). */
async function readReply(res: Response, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > max || !res.body) {
    await res.body?.cancel().catch(() => {});
    return declared > max ? undefined : new Uint8Array(0);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The server did not answer at all (nothing listens, wrong name, timeout): `pmon status` exits 3. */
export class ServerUnreachableError extends Error {
  override name = "ServerUnreachableError";
}

/** A fetch failure in pmon's words, not the runtime's. */
export function describeNetworkError(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; code?: string; message?: string };
  if (err.name === "TimeoutError" || err.name === "AbortError") return `no answer within ${timeoutMs / 1000} s`;
  switch (err.code) {
    case "ECONNREFUSED":
      return "connection refused: nothing listens there (is `pmon server` running, and is server.url right?)";
    case "ENOTFOUND":
      return "the host name does not resolve";
    case "ECONNRESET":
      return "the connection was reset";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "no route to that address";
    case "CERT_HAS_EXPIRED":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
      return `its TLS certificate is not trusted (${err.code})`;
    default:
      return `network error${err.code ? ` ${err.code}` : ""}`;
  }
}

/** GET /v1/hosts with the operator secret; throws a one-line Error on failure (ServerUnreachableError when nothing answered). */
export async function getHosts(serverUrl: string, operatorSecret: string, timeoutMs = 10_000): Promise<HostsReply> {
  let res: Response;
  try {
    res = await fetch(joinUrl(serverUrl, ROUTES.hosts), {
      headers: { authorization: `Bearer ${operatorSecret.trim()}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new ServerUnreachableError(`cannot reach the pmon server at ${serverUrl}: ${describeNetworkError(e, timeoutMs)}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${serverUrl}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new Error(`${serverUrl}: HTTP ${res.status}: ${(body as ErrorReply).error ?? text.slice(0, 200)}`);
  if (!isHostsReply(body)) throw new Error(`${serverUrl}: the reply holds no host list`);
  return body;
}

/** The shape check a reply must pass before its rows are used as HostStatus. */
function isHostsReply(body: unknown): body is HostsReply {
  if (!body || typeof body !== "object") return false;
  const hosts = (body as { hosts?: unknown }).hosts;
  return Array.isArray(hosts) && hosts.every((h) => h && typeof h === "object" && typeof (h as { host?: unknown }).host === "string" && typeof (h as { state?: unknown }).state === "string");
}

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + path;
}
