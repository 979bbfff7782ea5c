// The web UI's routes for Bun.serve: the page (an HTML import, bundled into the binary with its
// script and styles) and its JSON API under /ui/api/. Every data route needs a session cookie; the
// only writes are login and logout. The data comes from the same store functions as the CLI.
import type { BunRequest, Server } from "bun";
import { basename } from "node:path";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { HOST_RE } from "../protocol/report.ts";
import { errorResponse, HttpError, jsonResponse } from "../server/errors.ts";
import { listAlertLog } from "../store/alert-log.ts";
import { listOpenAlerts } from "../store/alerts.ts";
import { StoreUnavailableError, type Db } from "../store/db.ts";
import { TOP_BY, type TopBy } from "../protocol/top.ts";
import { topAt } from "../store/history.ts";
import { hostSeries } from "../store/series.ts";
import { liveServers } from "../store/servers.ts";
import { hostStatuses } from "../store/status.ts";
import { VERSION } from "../version.ts";
import page from "./web/index.html";
import { cookieValue, LoginLimiter, newSessionValue, secretMatches, sessionCookie, sessionKey, sessionValid, SESSION_COOKIE } from "./session.ts";

export interface UiDeps {
  db: Db;
  config: ResolvedConfig;
  log: Logger;
  /** sha256 of the operator secret: the login password */
  operatorHash: string;
  /** cookies get Secure when the listener speaks TLS */
  tls: boolean;
  /** reports waiting to be stored */
  queueDepth(): number;
  now?(): number;
}

export const UI_API = "/ui/api/";
const MAX_RANGE_MS = 92 * 86_400_000;
const MAX_LOGIN_BYTES = 4096;
const API_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
};

type Handler = (req: BunRequest, server: Server<unknown>) => Promise<Response>;

/** Routes to spread into Bun.serve({ routes }). */
export function uiRoutes(deps: UiDeps): Record<string, typeof page | Response | Handler> {
  const now = deps.now ?? Date.now;
  const key = sessionKey(deps.operatorHash);
  const limiter = new LoginLimiter();
  const log = deps.log.withTag("ui");
  const silentAfterMs = deps.config.alerts.silent_after_s * 1000;

  const authed = (req: Request) => sessionValid(key, cookieValue(req.headers.get("cookie"), SESSION_COOKIE), now());

  async function login(req: Request, client: string): Promise<Response> {
    // A JSON body cannot be sent cross-site without a CORS preflight, which this server never grants.
    if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) throw new HttpError(415, "bad_content_type", "login takes a JSON body");
    const wait = limiter.retryAfter(client, now());
    if (wait > 0) {
      return withHeaders(errorResponse(new HttpError(429, "too_many_logins", `too many failed logins: try again in ${Math.ceil(wait / 1000)} s`)), {
        "retry-after": String(Math.ceil(wait / 1000)),
      });
    }
    if (Number(req.headers.get("content-length") ?? 0) > MAX_LOGIN_BYTES) throw new HttpError(413, "too_large", "login body too large");
    const text = await req.text();
    let secret: unknown;
    try {
      secret = text.length <= MAX_LOGIN_BYTES ? (JSON.parse(text) as { secret?: unknown }).secret : undefined;
    } catch {}
    if (typeof secret !== "string" || !secretMatches(deps.operatorHash, secret)) {
      limiter.fail(client, now());
      log.info(`failed web login from ${client}`);
      throw new HttpError(401, "bad_secret", "wrong operator secret");
    }
    limiter.succeed(client);
    return jsonResponse(200, { ok: true }, { ...API_HEADERS, "set-cookie": sessionCookie(newSessionValue(key, now()), deps.tls) });
  }

  async function data(path: string, url: URL): Promise<unknown> {
    const q = url.searchParams;
    switch (path) {
      case "fleet": {
        const t = now();
        const [hosts, store, servers] = await Promise.all([
          hostStatuses(deps.db, t, { silentAfterMs }),
          deps.db.query("SELECT 1").then(
            () => "up",
            (e: Error) => `down: ${e.message}`,
          ),
          liveServers(deps.db, t - 86_400_000).catch(() => []),
        ]);
        return { ok: true, now: t, refresh_s: deps.config.agent.interval_s, hosts, server: { version: VERSION, store, storage: deps.db.dialect, queue: deps.queueDepth(), servers } };
      }
      case "host": {
        const host = hostParam(q);
        const to = timeParam(q, "to");
        const from = timeParam(q, "from");
        if (from >= to) throw new HttpError(400, "bad_range", "from must be before to");
        if (to - from > MAX_RANGE_MS) throw new HttpError(400, "bad_range", "a range may span at most 92 days");
        return { ok: true, series: await hostSeries(deps.db, { host, from, to }) };
      }
      case "top": {
        const host = hostParam(q);
        const at = timeParam(q, "at");
        const by = (q.get("by") ?? "cpu") as TopBy;
        if (!TOP_BY.includes(by)) throw new HttpError(400, "bad_by", `by must be one of ${TOP_BY.join(", ")}`);
        const limit = Math.min(100, Math.max(1, Number(q.get("limit") ?? 20) || 20));
        return { ok: true, top: await topAt(deps.db, { host, at, by, limit }) };
      }
      case "alerts": {
        const [open, log] = await Promise.all([listOpenAlerts(deps.db), listAlertLog(deps.db, { limit: 100 })]);
        return { ok: true, now: now(), open, log };
      }
      default:
        throw new HttpError(404, "not_found", `no UI route ${path}`);
    }
  }

  const api: Handler = async (req, server) => {
    const url = new URL(req.url);
    const path = url.pathname.slice(UI_API.length);
    try {
      if (path === "login" || path === "logout") {
        if (req.method !== "POST") throw new HttpError(405, "method_not_allowed", `${url.pathname} accepts POST only`);
        if (path === "logout") return jsonResponse(200, { ok: true }, { ...API_HEADERS, "set-cookie": sessionCookie("", deps.tls) });
        return await login(req, server.requestIP(req)?.address ?? "unknown");
      }
      if (req.method !== "GET") throw new HttpError(405, "method_not_allowed", `${url.pathname} accepts GET only`);
      // the page asks this before anything else: the one data-free route that answers without a session
      if (path === "session") return jsonResponse(200, { ok: true, logged_in: authed(req), version: VERSION }, API_HEADERS);
      if (!authed(req)) throw new HttpError(401, "no_session", "log in first");
      return jsonResponse(200, await data(path, url), API_HEADERS);
    } catch (e) {
      const err =
        e instanceof HttpError
          ? e
          : e instanceof StoreUnavailableError
            ? new HttpError(503, "store_unavailable", e.message)
            : new HttpError(500, "internal", `internal error: ${(e as Error)?.message ?? String(e)}`);
      if (err.status >= 500) log.warn(`${req.method} ${url.pathname}: ${err.status} ${err.message}`);
      return withHeaders(errorResponse(err), API_HEADERS);
    }
  };

  return { ...pageRoutes(), [`${UI_API}*`]: api };
}

// The page's headers: what the <meta> policy cannot say (frame-ancestors), and no caching of the
// HTML so a new binary's script names are picked up at once.
const PAGE_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/**
 * The page and its assets. In the compiled binary the bundle's files are known (page.files), so
 * they are served with our own headers; run from source, Bun bundles the page itself and only the
 * page's <meta> Content-Security-Policy applies.
 */
function pageRoutes(): Record<string, typeof page | Response> {
  if (!page.files?.length) return { "/": page };
  const routes: Record<string, Response> = {};
  for (const f of page.files) {
    const headers = { "content-type": f.headers["content-type"], etag: f.headers.etag };
    if (f.loader === "html") routes["/"] = new Response(Bun.file(f.path), { headers: { ...headers, ...PAGE_HEADERS } });
    // asset names carry a content hash: they never change under the same name
    else routes[`/${basename(f.path)}`] = new Response(Bun.file(f.path), { headers: { ...headers, "x-content-type-options": "nosniff", "cache-control": "public, max-age=31536000, immutable" } });
  }
  return routes;
}

function withHeaders(res: Response, headers: Record<string, string>): Response {
  for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
  return res;
}

function hostParam(q: URLSearchParams): string {
  const host = q.get("host") ?? "";
  if (!HOST_RE.test(host)) throw new HttpError(400, "bad_host", "host is missing or not a valid host name");
  return host;
}

function timeParam(q: URLSearchParams, name: string): number {
  const v = q.get(name) ?? "";
  if (!/^\d{1,15}$/.test(v)) throw new HttpError(400, "bad_time", `${name} must be epoch milliseconds`);
  return Number(v);
}
