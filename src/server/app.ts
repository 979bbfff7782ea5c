// The HTTP app as a plain fetch handler (testable without a port): routes, auth, body limits,
// validation, handing reports to the ingest queue, and signing every reply to a report.
import type { Logger } from "../log.ts";
import { HEADERS, ROUTES, type ErrorReply, type HostsReply, type HostStatus, type ReportReply } from "../protocol/api.ts";
import { checkReportTime, decodeReport, ReportError, type Report } from "../protocol/report.ts";
import { StoreUnavailableError } from "../store/db.ts";
import { VERSION } from "../version.ts";
import type { KeyObject } from "node:crypto";
import { SIGNATURE_RE, signReply } from "../protocol/api.ts";
import { checkBearer, checkHost, checkSignature, checkTimestamp, readSignedHeaders, ReplayCache, type HostAuth } from "./auth.ts";
import { decodeBody, readLimited } from "./body.ts";
import { HostDirectory } from "./host-directory.ts";
import { HostRateLimiter, InflightBudget } from "./limits.ts";
import { errorResponse, HttpError, jsonResponse } from "./errors.ts";
import type { Ingest } from "./ingest.ts";
import type { ServerMetrics } from "./metrics.ts";

export interface AppDeps {
  log: Logger;
  metrics: ServerMetrics;
  ingest: Ingest;
  /** the host's auth row, or undefined when not enrolled; throws StoreUnavailableError when the store is down */
  getHost(host: string): Promise<HostAuth | undefined>;
  /** every host's auth row, by name (the in-memory directory of who may write) */
  allHosts(): Promise<Map<string, HostAuth>>;
  /** rows for GET /v1/hosts */
  listHosts(nowMs: number): Promise<HostStatus[]>;
  /** hosts by state for /metrics; the gauge is left out while the store does not answer */
  hostCounts?(nowMs: number): Promise<Record<string, number>>;
  /** sha256 of the operator secret (bearer token for the read API) */
  operatorHash: string;
  /** the fleet reply key: every reply to a report is signed with it */
  replyKey: KeyObject;
  maxBodyBytes: number;
  maxSkewS: number;
  /** request bodies being read at once, all hosts (server.max_inflight_mb) */
  maxInflightBytes: number;
  /** reports per second per host (server.host_reports_per_s); bursts of twice this */
  hostReportsPerS: number;
  /** a cheap store round trip for /healthz */
  pingStore?(): Promise<void>;
  /** extra fields for the reply to an accepted report (e.g. the server-down alert's witnesses) */
  replyExtras?(report: Report): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** the clock that decides "now" (tests move it) */
  now?(): number;
  /** how old the in-memory directory of hosts may get; 0 = ask the store every time (default 5000) */
  hostCacheMs?: number;
  version?: string;
}

/** What handling a report has learned so far, for the reply to a refusal. */
interface ReportState {
  /** the named host is in the store (any state) */
  hostKnown: boolean;
  bodyRead: boolean;
  bodyBytes: number;
}

export interface App {
  fetch(req: Request): Promise<Response>;
  /** refuse new reports (503) from now on; used on shutdown */
  close(): void;
}

/** A collection after this many refused requests, or this many bytes of refused bodies (see refused()). */
const GC_EVERY_REFUSED = 250;
const GC_EVERY_REFUSED_BYTES = 32 * 1024 * 1024;
/** consola's level number of "debug": below it, refusals are not even formatted */
const LOG_LEVEL_DEBUG = 4;

export function createApp(deps: AppDeps): App {
  const now = deps.now ?? Date.now;
  const version = deps.version ?? VERSION;
  const log = deps.log.withTag("server");
  const replays = new ReplayCache(deps.maxSkewS * 1000 * 2);
  const directory = new HostDirectory({
    loadAll: deps.allHosts,
    loadOne: deps.getHost,
    maxAgeMs: deps.hostCacheMs ?? 5000,
    now,
    onLoadError: (e) => log.warn(`reloading the enrolled hosts failed, the previous list stays in use: ${e.message}`),
  });
  const inflight = new InflightBudget(deps.maxInflightBytes);
  const rates = new HostRateLimiter(deps.hostReportsPerS, Math.max(2, deps.hostReportsPerS * 2));
  let lastRatePrune = 0;
  let closed = false;

  /** A report's fate is decided in order of cost: headers, host, length, then body and signature. */
  async function postReport(req: Request, state: ReportState): Promise<ReportReply> {
    if (closed) throw new HttpError(503, "shutting_down", "server is shutting down");
    const receivedAt = now();
    const signed = readSignedHeaders(req.headers);
    const row = await directory.lookup(signed.host);
    state.hostKnown = row !== undefined;
    checkTimestamp(signed.timeMs, receivedAt, deps.maxSkewS);
    let publicKey = checkHost(signed.host, row);
    // A body without a length (chunked) may be as large as allowed, so it reserves that much.
    const declared = req.headers.get("content-length");
    const length = declared !== null && /^\d{1,12}$/.test(declared) ? Number(declared) : deps.maxBodyBytes;
    if (length > deps.maxBodyBytes) throw new HttpError(413, "too_large", `body larger than ${deps.maxBodyBytes} bytes (server.max_body_mb)`);
    const release = inflight.reserve(length);
    try {
      const raw = await readLimited(req, length);
      state.bodyRead = true;
      state.bodyBytes = raw.byteLength;
      try {
        checkSignature(signed, publicKey, raw);
      } catch (e) {
        // The host may have been enrolled again (new key) since the directory was loaded.
        const fresh = await directory.recheck(signed.host, row!);
        if (!fresh) throw e;
        publicKey = checkHost(signed.host, fresh);
        checkSignature(signed, publicKey, raw);
      }
      release();
      rates.take(signed.host, receivedAt);
      if (receivedAt - lastRatePrune > 60_000) {
        lastRatePrune = receivedAt;
        rates.prune(receivedAt);
      }
      replays.claim(signed.signature, signed.timeMs, receivedAt);
      try {
        return await storeReport(req, raw, signed.host, signed.timeMs, receivedAt);
      } catch (e) {
        // The cache holds accepted requests only: the agent may resend after a server-side failure,
        // and a resent refused request is refused again on its own merits.
        replays.release(signed.signature);
        throw e;
      }
    } finally {
      release();
    }
  }

  async function storeReport(req: Request, raw: Uint8Array, host: string, signedTimeMs: number, receivedAt: number): Promise<ReportReply> {
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
      checkReportTime(report, signedTimeMs, deps.maxSkewS * 1000);
    } catch (e) {
      if (e instanceof ReportError) throw new HttpError(400, "bad_report", e.message);
      throw e;
    }
    if (report.host !== host) {
      throw new HttpError(403, "host_mismatch", `report.host "${report.host}" differs from ${HEADERS.host} "${host}": a host can only write its own reports`);
    }
    const replay = req.headers.get(HEADERS.replay) === "1";
    const outcome = await deps.ingest.submit(report, receivedAt, replay);
    deps.metrics.accepted.inc({ outcome });
    if (outcome === "duplicate") deps.metrics.duplicates.inc();
    if (replay) deps.metrics.replays.inc();
    return {
      ...(deps.replyExtras ? await deps.replyExtras(report) : {}),
      ok: true,
      server_version: version,
      ...(outcome === "duplicate" ? { duplicate: true } : {}),
    };
  }

  /** A reply to a report, carrying the fleet reply key's signature over the request's signature when `sign`. */
  function reportReply(req: Request, status: number, reply: ReportReply | ErrorReply, sign: boolean, extraHeaders: Record<string, string> = {}): Response {
    const body = Buffer.from(JSON.stringify(reply));
    const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders };
    const requestSignature = req.headers.get(HEADERS.signature)?.toLowerCase() ?? "";
    if (sign && SIGNATURE_RE.test(requestSignature)) headers[HEADERS.replySignature] = signReply(deps.replyKey, requestSignature, status, body);
    return new Response(body, { status, headers });
  }

  // Refused requests leave short-lived garbage (requests, replies, read bodies) that the collector
  // lets pile up under a flood (measured: about +40 MB over 200,000 refusals); a collection every so often
  // keeps the peak low. Normal traffic is almost never refused, so it never pays for this. Many small
  // refusals need only a quick collection (a full one costs more than the request); read bodies need a
  // full one to hand their memory back.
  let refusedSinceGc = 0;
  let refusedBytesSinceGc = 0;
  let gcTimer: ReturnType<typeof setTimeout> | undefined;
  function collect(full: boolean): void {
    clearTimeout(gcTimer);
    gcTimer = undefined;
    refusedSinceGc = 0;
    if (full) refusedBytesSinceGc = 0;
    Bun.gc(full);
  }
  function refused(bodyBytes: number): void {
    refusedSinceGc++;
    refusedBytesSinceGc += bodyBytes;
    if (refusedBytesSinceGc >= GC_EVERY_REFUSED_BYTES) return collect(true);
    if (refusedSinceGc >= GC_EVERY_REFUSED) return collect(false);
    // a burst that ends below those counts is collected a moment later
    if (!gcTimer) {
      gcTimer = setTimeout(() => collect(true), 1000);
      gcTimer.unref?.();
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
        return report(req);
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

  /**
   * POST /v1/report. Replies are signed with the fleet reply key, so an agent acts only on the server's
   * word. Refusals an agent retries anyway (5xx, 429) and refusals to names that are not enrolled are
   * not signed: an unsigned reply is retried, which loses nothing, and a flood of made-up requests
   * cannot make the server spend a signature on each.
   */
  async function report(req: Request): Promise<Response> {
    const state: ReportState = { hostKnown: false, bodyRead: false, bodyBytes: 0 };
    try {
      return reportReply(req, 200, await postReport(req, state), true);
    } catch (e) {
      const err = toHttpError(e);
      deps.metrics.rejected.inc({ reason: err.code });
      refused(state.bodyBytes);
      if (err.status >= 500) log.warn(`POST ${ROUTES.report}: ${err.status} ${err.message}`);
      else if (log.level >= LOG_LEVEL_DEBUG) log.debug(`POST ${ROUTES.report}: ${err.status} ${err.message}`);
      // Refused before its body was read: close the connection rather than receive the rest.
      const sign = err.status < 500 && err.status !== 429 && state.hostKnown;
      return reportReply(req, err.status, { ok: false, code: err.code, error: err.message }, sign, state.bodyRead ? {} : { connection: "close" });
    }
  }

  return {
    async fetch(req) {
      const path = pathOf(req.url);
      if (path === ROUTES.report && req.method === "POST") return report(req);
      try {
        return await route(req, path);
      } catch (e) {
        const err = toHttpError(e);
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

/** The path of a request URL without building a URL object (this runs for every request of a flood). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.search(/[?#]/);
  return end < 0 || end < start ? url.slice(start) : url.slice(start, end);
}

function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof StoreUnavailableError) return new HttpError(503, "store_unavailable", e.message);
  return new HttpError(500, "internal", `internal error: ${(e as Error)?.message ?? String(e)}`);
}
