// The HTTP API between agents, CLI commands and the server: routes, headers, the report signature,
// reply shapes and the agent's exit codes. Imports nothing but node:crypto so every side can use it.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const ROUTES = {
  report: "/v1/report",
  hosts: "/v1/hosts",
  healthz: "/healthz",
  metrics: "/metrics",
} as const;

export const HEADERS = {
  host: "X-Pmon-Host",
  /** epoch ms of the SEND (re-signed when a spooled report is replayed) */
  time: "X-Pmon-Time",
  signature: "X-Pmon-Signature",
  /** "1" when the report comes from the agent's spool */
  replay: "X-Pmon-Replay",
} as const;

/** The agent saw a server of another version: its supervisor restarts it on the new binary. */
export const EXIT_UPGRADE = 3;

/** Reply to an accepted report (HTTP 200). `duplicate` is set when the report id was already stored. */
export interface ReportReply {
  ok: true;
  server_version: string;
  duplicate?: boolean;
  /** the agents that watch for this server going silent (the server-down alert) */
  witnesses?: string[];
  [extra: string]: unknown;
}

/** Every refusal: the HTTP status says what kind, `error` says why in one line. */
export interface ErrorReply {
  ok: false;
  /** short machine-readable reason, also the label of pmon_reports_rejected_total */
  code: string;
  error: string;
}

/**
 * Status codes on POST /v1/report, and what the agent does with them:
 *  200 stored (or duplicate)                   → delivered, drop from spool
 *  400 malformed JSON / schema / bad gzip       → rejected, drop (resending cannot help)
 *  401 bad or missing signature                 → rejected, drop
 *  401 code "stale_timestamp"                   → retry: re-signed with a fresh time on the next send
 *  403 unknown/removed host, host mismatch      → rejected, drop
 *  409 replayed request (same signature seen)   → retry: the next send is re-signed, so it is a new request
 *  408, 429                                     → retry later
 *  413 body too large                           → rejected, drop
 *  5xx, network error                           → try the next server, else spool
 */
const STATUS = {
  ok: 200,
  badRequest: 400,
  unauthorized: 401,
  forbidden: 403,
  notFound: 404,
  methodNotAllowed: 405,
  timeout: 408,
  replay: 409,
  tooLarge: 413,
  unsupportedMedia: 415,
  tooMany: 429,
  internal: 500,
  unavailable: 503,
} as const;

export const STALE_CODE = "stale_timestamp";
export const REPLAY_CODE = "replayed";

/** Whether a refused report should be kept and sent again later (vs dropped as rejected). */
export function isRetryable(status: number, code?: string): boolean {
  if (status >= 500) return true;
  if (status === STATUS.timeout || status === STATUS.tooMany || status === STATUS.replay) return true;
  if (status === STATUS.unauthorized && code === STALE_CODE) return true;
  return false;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The report signature: HMAC-SHA256 over `${host}\n${timestampMs}\n${sha256hex(body)}`, hex.
 * The server keeps only sha256(secret), so the HMAC key is that hash: the agent derives it from its
 * secret, the server uses the stored hash directly. (A leaked host table therefore allows forging that
 * host's reports; the plaintext secret still never leaves the host.)
 */
function signReport(secret: string, host: string, timestampMs: number, body: Uint8Array): string {
  return signWithKey(hashSecret(secret), host, timestampMs, body);
}

/** The same signature computed from the stored secret hash (server side). */
export function signWithKey(secretHash: string, host: string, timestampMs: number, body: Uint8Array): string {
  return createHmac("sha256", secretHash).update(`${host}\n${timestampMs}\n${sha256Hex(body)}`).digest("hex");
}

/** Constant-time comparison of two hex signatures. */
export function signatureMatches(expectedHex: string, givenHex: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(givenHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, "hex"), Buffer.from(givenHex, "hex"));
}

/** The headers that sign `body` for `host` at `timestampMs`. */
export function signedHeaders(secret: string, host: string, timestampMs: number, body: Uint8Array): Record<string, string> {
  return {
    [HEADERS.host]: host,
    [HEADERS.time]: String(timestampMs),
    [HEADERS.signature]: signReport(secret, host, timestampMs, body),
  };
}

/** A new host or operator secret: 32 random bytes as hex. */
export function newSecret(): string {
  return randomBytes(32).toString("hex");
}

/** How the server stores a secret: sha256 hex of the secret text (trimmed). */
export function hashSecret(secret: string): string {
  return sha256Hex(secret.trim());
}

/** The states of an enrolled host as `pmon status`, GET /v1/hosts and the pmon_hosts metric show them. */
/** waiting: a host of the old tool's database without a pmon agent, left alone until enrolled or adopted */
export const HOST_STATES = ["pending", "running", "removing", "removed", "failed", "silent", "waiting"] as const;
export type HostState = (typeof HOST_STATES)[number];

export interface HostStatus {
  host: string;
  state: HostState;
  /** the legacy tb_monitor_host_config.istate */
  istate: number;
  agent_version: string | null;
  /** server clock, epoch ms */
  last_report_at: number | null;
  /** now - last_report_at */
  age_ms: number | null;
  clock_skew_ms: number | null;
  deploy_error: string | null;
  /** busy share of all cores: 100 - idle */
  cpu_pct: number | null;
  load1: number | null;
  mem_used_pct: number | null;
  /** the fullest filesystem */
  fs_max_pct: number | null;
  fs_max_mount: string | null;
  net_rx_bytes_per_s: number | null;
  net_tx_bytes_per_s: number | null;
  /** the process that used the most CPU in the latest report */
  top_process: { pid: number; comm: string; instance: string; cpu_pct: number } | null;
}

/** Hosts that make `pmon status` exit non-zero. */
export function isProblem(h: HostStatus): boolean {
  return h.state === "silent" || h.state === "failed";
}

/** Reply to GET /v1/hosts (HTTP 200). */
export interface HostsReply {
  ok: true;
  server_version: string;
  /** server clock, epoch ms */
  now: number;
  hosts: HostStatus[];
}

/** What one host's deployment or removal ended in (`pmon enroll`, `pmon remove`, the server's manager). */
export const HOST_OUTCOME_STATES = ["running", "failed", "rolled back", "removed", "remove failed"] as const;
export type HostOutcomeState = (typeof HOST_OUTCOME_STATES)[number];

export interface HostOutcome {
  rshost: string;
  ok: boolean;
  state: HostOutcomeState;
  detail: string;
  /** why it failed: a deploy error kind, or "internal" for an unexpected error */
  kind?: string;
  /** failures in a row after this one (failed deployments) */
  failures?: number;
  version?: string;
  previousVersion?: string;
}
