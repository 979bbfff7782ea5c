// Who may write: the per-host Ed25519 signature, the timestamp window, the replay cache, and the
// operator's bearer token for the read API.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { dirname } from "node:path";
import { HEADERS, REPLAY_CODE, SIGNATURE_RE, STALE_CODE, hashSecret, newSecret, parsePublicKey, sha256Hex, signatureMatches, verifyReport } from "../protocol/api.ts";
import { HOST_RE } from "../protocol/report.ts";
import { tightenIfPresent } from "../util/private-files.ts";
import { HttpError } from "./errors.ts";

/** What auth needs to know about a host: its state and its public key (`ed25519:...`, "" when none). */
export interface HostAuth {
  istate: number;
  /** the column keeps its historical name; it holds the host's public key */
  secret_hash: string | null;
}

export interface SignedRequest {
  host: string;
  timeMs: number;
  signature: string;
}

/** Reads the three signing headers and checks their shape; missing or malformed ones are a 401. */
export function readSignedHeaders(headers: Headers): SignedRequest {
  const host = headers.get(HEADERS.host);
  const time = headers.get(HEADERS.time);
  const signature = headers.get(HEADERS.signature)?.toLowerCase();
  if (!host || !time || !signature) {
    throw new HttpError(401, "unsigned", `missing ${[!host && HEADERS.host, !time && HEADERS.time, !signature && HEADERS.signature].filter(Boolean).join(", ")}`);
  }
  if (!HOST_RE.test(host)) throw new HttpError(401, "bad_signature", `${HEADERS.host} is not a valid host name`);
  if (!/^\d{1,16}$/.test(time)) throw new HttpError(401, "bad_signature", `${HEADERS.time} must be epoch milliseconds`);
  if (!SIGNATURE_RE.test(signature)) throw new HttpError(401, "bad_signature", `${HEADERS.signature} must be an Ed25519 signature in hex (128 digits)`);
  return { host, timeMs: Number(time), signature };
}

export function checkTimestamp(timeMs: number, nowMs: number, maxSkewS: number): void {
  const off = timeMs - nowMs;
  if (Math.abs(off) > maxSkewS * 1000) {
    throw new HttpError(401, STALE_CODE, `stale/future timestamp: ${HEADERS.time} is ${Math.round(off / 1000)} s from the server's clock (limit ±${maxSkewS} s)`);
  }
}

/** A host may write when it is enrolled (istate > 0) and has a public key. Returns that key, parsed once per row. */
export function checkHost(host: string, row: (HostAuth & { publicKey?: KeyObject }) | undefined): KeyObject {
  if (!row) throw new HttpError(403, "unknown_host", `host "${host}" is not enrolled`);
  if (row.istate <= 0) throw new HttpError(403, "removed_host", `host "${host}" is removed (istate ${row.istate})`);
  if (!row.secret_hash) throw new HttpError(403, "no_key", `host "${host}" has no key: enroll it again (pmon enroll --rekey)`);
  try {
    return (row.publicKey ??= parsePublicKey(row.secret_hash));
  } catch {
    throw new HttpError(403, "no_key", `host "${host}" has no Ed25519 key (enrolled by an older pmon): enroll it again (pmon enroll --rekey)`);
  }
}

export function checkSignature(req: SignedRequest, publicKey: KeyObject, body: Uint8Array): void {
  if (!verifyReport(publicKey, req.host, req.timeMs, body, req.signature)) {
    throw new HttpError(401, "bad_signature", "signature does not match (wrong key or altered body)");
  }
}

/**
 * Signatures seen within the skew window. A request whose signature was already accepted is a replay
 * (409): an honest agent re-signs every send with a fresh time, so it never repeats one.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs: number) {}

  /** Throws 409 if seen; otherwise remembers the signature until it could no longer pass the time check. */
  claim(signature: string, timeMs: number, nowMs: number): void {
    this.prune(nowMs);
    if (this.seen.has(signature)) throw new HttpError(409, REPLAY_CODE, "replayed request: this signature was already used");
    this.seen.set(signature, timeMs + this.windowMs);
  }

  /** Forgets a claim when the request failed in a way the agent will retry (e.g. 503). */
  release(signature: string): void {
    this.seen.delete(signature);
  }

  get size(): number {
    return this.seen.size;
  }

  private lastPrune = 0;
  private prune(nowMs: number): void {
    if (nowMs - this.lastPrune < 1000) return;
    this.lastPrune = nowMs;
    for (const [sig, until] of this.seen) if (until < nowMs) this.seen.delete(sig);
  }
}

/** Reads the operator secret, creating it (mode 0600) at first start. Returns its sha256. */
export function loadOperatorSecret(path: string): { hash: string; created: boolean } {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, newSecret() + "\n", { mode: 0o600, flag: "wx" });
    chmodSync(path, 0o600);
    return { hash: hashSecret(readFileSync(path, "utf8")), created: true };
  }
  tightenIfPresent(path);
  const text = readFileSync(path, "utf8").trim();
  if (!text) throw new Error(`${path} is empty: delete it to have a new operator secret created`);
  return { hash: hashSecret(text), created: false };
}

/** `Authorization: Bearer <operator secret>`, compared by hash. */
export function checkBearer(headers: Headers, operatorHash: string): void {
  const auth = headers.get("authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  if (!m) throw new HttpError(401, "unauthenticated", "missing Authorization: Bearer <operator secret>");
  if (!signatureMatches(operatorHash, sha256Hex(m[1]!))) throw new HttpError(401, "bad_token", "wrong operator secret");
}
