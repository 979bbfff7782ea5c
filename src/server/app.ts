// The HTTP app as a plain fetch handler (testable without a port): routes, auth, body limits,
// validation, and handing reports to the ingest queue.
import type { Logger } from "../log.ts";
import { HEADERS, ROUTES, type HostsReply, type HostStatus, type ReportReply } from "../protocol/api.ts";
import { checkReportTime, decodeReport, ReportError, type Report } from "../protocol/report.ts";
import { StoreUnavailableError } from "../store/db.ts";
import { VERSION } from "../version.ts";
import { checkBearer, checkHost, checkSignature, checkTimestamp, readSignedHeaders, ReplayCache, type HostAuth } from "./auth.ts";
import { decodeBody, readLimited } from "./body.ts";
import { errorResponse, HttpError, jsonResponse } from "./errors.ts";
import type { Ingest } from "./ingest.ts";
import type { ServerMetrics } from "./metrics.ts";

export interface AppDeps {
  log: Logger;
  metrics: ServerMetrics;
  ingest: Ingest;
  /** the host's auth row, or undefined when not enrolled; throws StoreUnavailableError when the store is down */
  getHost(host: string): Promise<HostAuth | undefined>;
  /** rows for GET /v1/hosts */
  listHosts(nowMs: number): Promise<HostStatus[]>;
  /** hosts by state for /metrics; the gauge is left out while the store does not answer */
  hostCounts?(nowMs: number): Promise<Record<string, number>>;
  /** sha256 of the operator secret (bearer token for the read API) */
  operatorHash: string;
  maxBodyBytes: number;
  maxSkewS: number;
  /** a cheap store round trip for /healthz */
  pingStore?(): Promise<void>;
  /** extra fields for the reply to an accepted report (e.g. the server-down alert's witnesses) */
  replyExtras?(report: Report): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** the clock that decides "now" (tests move it) */
  now?(): number;
  /** how long a host's auth row is cached; 0 = ask the store every time (default 5000) */
  hostCacheMs?: number;
  version?: string;
}

export interface App {
  fetch(req: Request): Promise<Response>;
  /** refuse new reports (503) from now on; used on shutdown */
  close(): void;
}

export function createApp(deps: AppDeps): App {
  const now = deps.now ?? Date.now;
  const version = deps.version ?? VERSION;
  const log = deps.log.withTag("server");
  const replays = new ReplayCache(deps.maxSkewS * 1000 * 2);
  const hostCache = new Map<string, { row: HostAuth | undefined; until: number }>();
  const hostCacheMs = deps.hostCacheMs ?? 5000;
  let closed = false;

  async function lookupHost(host: string): Promise<HostAuth | undefined> {
    const t = now();
    const hit = hostCache.get(host);
    if (hit && hit.until > t) return hit.row;
    const row = await deps.getHost(host);
    if (hostCacheMs > 0) hostCache.set(host, { row, until: t + hostCacheMs });
    return row;
  }

  async function postReport(req: Request): Promise<Response> {
    if (closed) throw new HttpError(503, "shutting_down", "server is shutting down");
    const receivedAt = now();
    const raw = await readLimited(req, deps.maxBodyBytes);
    const signed = readSignedHeaders(req.headers);
    checkTimestamp(signed.timeMs, receivedAt, deps.maxSkewS);
    const secretHash = checkHost(signed.host, await lookupHost(signed.host));
    try {
      checkSignature(signed, secretHash, raw);
    } catch (e) {
      // The host may have been re-keyed (enrolled again) since its row was cached: look once more.
      if (!hostCache.has(signed.host)) throw e;
      hostCache.delete(signed.host);
      checkSignature(signed, checkHost(signed.host, await lookupHost(signed.host)), raw);
    }
    replays.claim(signed.signature, signed.timeMs, receivedAt);
    try {
      const body = decodeBody(raw, req.headers.get("content-encoding"), deps.maxBodyBytes);
      let parsed: unknown;
      try {
        parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
      } catch (e) {
        throw new HttpError(400, "bad_json", `body is not valid JSON: ${(e as Error).message}`);
      }
      let report: Report;
      try {
        report = decodeReport(parsed);
        checkReportTime(report, signed.timeMs, deps.maxSkewS * 1000);
      } catch (e) {
        if (e instanceof ReportError) throw new HttpError(400, "bad_report", e.message);
        throw e;
      }
      if (report.host !== signed.host) {
        throw new HttpError(403, "host_mismatch", `report.host "${report.host}" differs from ${HEADERS.host} "${signed.host}": a host can only write its own reports`);
      }
      const replay = req.headers.get(HEADERS.replay) === "1";
      const outcome = await deps.ingest.submit(report, receivedAt, replay);
      deps.metrics.accepted.inc({ outcome });
      if (outcome === "duplicate") deps.metrics.duplicates.inc();
      if (replay) deps.metrics.replays.inc();
      const reply: ReportReply = {
        ...(deps.replyExtras ? await deps.replyExtras(report) : {}),
        ok: true,
        server_version: version,
        ...(outcome === "duplicate" ? { duplicate: true } : {}),
      };
      return jsonResponse(200, reply);
    } catch (e) {
      // The agent will resend after a server-side failure; let that resend through the replay cache.
      if (!(e instanceof HttpError) || e.status >= 500) replays.release(signed.signature);
      throw e;
    }
  }

  async function getHosts(req: Request): Promise<Response> {
    checkBearer(req.headers, deps.operatorHash);
    const reply: HostsReply = { ok: true, server_version: version, now: now(), hosts: await deps.listHosts(now()) };
    return jsonResponse(200, reply);
  }

  async function countHosts(): Promise<void> {
    if (!deps.hostCounts) return;
    deps.metrics.hosts.values.clear();
    try {
      for (const [state, n] of Object.entries(await deps.hostCounts(now()))) deps.metrics.hosts.set(n, { state });
    } catch (e) {
      deps.log.debug(`pmon_hosts left out: ${(e as Error).message}`);
    }
  }

  async function healthz(): Promise<Response> {
    let store = "up";
    try {
      await deps.pingStore?.();
    } catch (e) {
      store = `down: ${(e as Error).message}`;
    }
    const ok = store === "up" && !closed;
    return jsonResponse(ok ? 200 : 503, { ok, server_version: version, store, queue: deps.ingest.depth, closing: closed });
  }

  async function route(req: Request, path: string): Promise<Response> {
    const method = req.method;
    const allow = (m: string) => {
      if (method !== m) throw new HttpError(405, "method_not_allowed", `${path} accepts ${m} only`);
    };
    switch (path) {
      case ROUTES.report:
        allow("POST");
        return postReport(req);
      case ROUTES.hosts:
        allow("GET");
        return getHosts(req);
      case ROUTES.healthz:
        allow("GET");
        return healthz();
      case ROUTES.metrics:
        allow("GET");
        deps.metrics.queueDepth.set(deps.ingest.depth);
        await countHosts();
        return new Response(deps.metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } });
      default:
        throw new HttpError(404, "not_found", `no route ${method} ${path}`);
    }
  }

  return {
    async fetch(req) {
      const path = new URL(req.url).pathname;
      try {
        return await route(req, path);
      } catch (e) {
        const err = toHttpError(e);
        if (path === ROUTES.report) deps.metrics.rejected.inc({ reason: err.code });
        if (err.status >= 500) log.warn(`${req.method} ${path}: ${err.status} ${err.message}`);
        else log.debug(`${req.method} ${path}: ${err.status} ${err.message}`);
        return errorResponse(err);
      }
    },
    close() {
      closed = true;
    },
  };
}

function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof StoreUnavailableError) return new HttpError(503, "store_unavailable", e.message);
  return new HttpError(500, "internal", `internal error: ${(e as Error)?.message ?? String(e)}`);
}
