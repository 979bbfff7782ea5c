// The HTTP API between agents, CLI commands and the server: routes, headers, the report signature,
// reply shapes and the agent's exit codes. Imports nothing but node:crypto so every side can use it.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify, type KeyObject } from "node:crypto";

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
  /** on every reply to a report: the server's Ed25519 signature (see signReply) */
  replySignature: "X-Pmon-Reply-Signature",
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
 *  408, 429                                     → retry later (429: over the per-host rate limit)
 *  503 busy (bodies in flight over the cap)     → try the next server, else spool
 * A reply whose X-Pmon-Reply-Signature does not verify against a pinned server key is treated like a
 * network error: the report is kept and nothing in the reply is acted on.
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

/** The agent reads at most this much of a reply; a longer one is not acted on. */
export const MAX_REPLY_BYTES = 64 * 1024;
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
 * The report signature: Ed25519 over `pmon-report\n${host}\n${timestampMs}\n${sha256hex(body)}`, hex.
 * Only the host holds its private key; the server stores the public key, so a copy of the database
 * cannot sign anything.
 */
export function signReport(privateKeyPem: string, host: string, timestampMs: number, body: Uint8Array): string {
  return sign(null, Buffer.from(reportMessage(host, timestampMs, body)), privateKeyOf(privateKeyPem)).toString("hex");
}

/** Whether `signatureHex` is `host`'s signature of this request (server side). */
export function verifyReport(publicKey: KeyObject, host: string, timestampMs: number, body: Uint8Array, signatureHex: string): boolean {
  if (!SIGNATURE_RE.test(signatureHex)) return false;
  return verify(null, Buffer.from(reportMessage(host, timestampMs, body)), publicKey, Buffer.from(signatureHex, "hex"));
}

function reportMessage(host: string, timestampMs: number, body: Uint8Array): string {
  return `pmon-report\n${host}\n${timestampMs}\n${sha256Hex(body)}`;
}

/**
 * The server's reply signature: Ed25519 with the fleet reply key over the request's own signature
 * (so an old reply cannot be replayed to a new request), the status and the reply body.
 */
export function signReply(replyKey: KeyObject, requestSignature: string, status: number, body: Uint8Array): string {
  return sign(null, Buffer.from(replyMessage(requestSignature, status, body)), replyKey).toString("hex");
}

/** Whether any of the pinned server keys signed this reply. */
export function verifyReply(serverKeys: readonly KeyObject[], requestSignature: string, status: number, body: Uint8Array, signatureHex: string | null): boolean {
  if (!signatureHex || !SIGNATURE_RE.test(signatureHex)) return false;
  const msg = Buffer.from(replyMessage(requestSignature, status, body));
  const sig = Buffer.from(signatureHex, "hex");
  return serverKeys.some((k) => verify(null, msg, k, sig));
}

function replyMessage(requestSignature: string, status: number, body: Uint8Array): string {
  return `pmon-reply\n${requestSignature}\n${status}\n${sha256Hex(body)}`;
}

/** An Ed25519 signature in hex. */
export const SIGNATURE_RE = /^[0-9a-f]{128}$/;

/** How public keys are written in the store and in configs: `ed25519:` + base64 of the 32 raw bytes. */
export const PUBLIC_KEY_RE = /^ed25519:[A-Za-z0-9+/]{43}=$/;

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow it.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** A new key pair: the private key as PKCS#8 PEM (for the key file), the public key as text. */
export function newKeyPair(): { privateKeyPem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string, publicKey: publicKeyText(publicKey) };
}

export function publicKeyText(key: KeyObject): string {
  const der = key.export({ type: "spki", format: "der" }) as Buffer;
  return `ed25519:${der.subarray(SPKI_PREFIX.length).toString("base64")}`;
}

/** The public key (as text) of a PEM private key. */
export function publicKeyOfPem(privateKeyPem: string): string {
  return publicKeyText(createPublicKey(privateKeyOf(privateKeyPem)));
}

/** Parses `ed25519:<base64>`; throws a one-line Error when it is not one. */
export function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  if (!PUBLIC_KEY_RE.test(t)) throw new Error(`not an Ed25519 public key (expected ed25519:<base64>): ${JSON.stringify(t.slice(0, 80))}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(t.slice(8), "base64")]), format: "der", type: "spki" });
}

/** Parses a PEM private key once per process (the agent signs every report with the same one). */
export function privateKeyOf(pem: string): KeyObject {
  let key = privateKeys.get(pem);
  if (!key) {
    try {
      key = createPrivateKey(pem);
    } catch (e) {
      throw new Error(`not a PEM private key: ${(e as Error).message}`);
    }
    if (key.asymmetricKeyType !== "ed25519") throw new Error(`the private key is ${key.asymmetricKeyType}, not ed25519`);
    if (privateKeys.size > 16) privateKeys.clear();
    privateKeys.set(pem, key);
  }
  return key;
}
const privateKeys = new Map<string, KeyObject>();

/** Constant-time comparison of two hex digests (the operator token's hash). */
export function signatureMatches(expectedHex: string, givenHex: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(givenHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, "hex"), Buffer.from(givenHex, "hex"));
}

/** The headers that sign `body` for `host` at `timestampMs` with the host's private key. */
export function signedHeaders(privateKeyPem: string, host: string, timestampMs: number, body: Uint8Array): Record<string, string> {
  return {
    [HEADERS.host]: host,
    [HEADERS.time]: String(timestampMs),
    [HEADERS.signature]: signReport(privateKeyPem, host, timestampMs, body),
  };
}

/** A new operator secret: 32 random bytes as hex. */
export function newSecret(): string {
  return randomBytes(32).toString("hex");
}

/** How the server stores the operator secret: sha256 hex of the secret text (trimmed). */
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
