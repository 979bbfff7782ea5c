// Web UI sessions without server-side state: the cookie holds its expiry and an HMAC of it, keyed by
// a key derived from the operator secret. Every server that shares the store shares that secret
// (the CLI needs it on each), so a session works on any of them and survives restarts.
import { createHmac } from "node:crypto";
import { hashSecret, signatureMatches } from "../protocol/api.ts";

export const SESSION_COOKIE = "pmon_session";
export const SESSION_MS = 12 * 3_600_000;

/** The signing key: never the operator hash itself, so a cookie reveals nothing usable elsewhere. */
export function sessionKey(operatorHash: string): string {
  return createHmac("sha256", operatorHash).update("pmon web ui session v1").digest("hex");
}

function sign(key: string, expiresMs: number): string {
  return createHmac("sha256", key).update(`session\n${expiresMs}`).digest("hex");
}

export function newSessionValue(key: string, nowMs: number): string {
  const expires = nowMs + SESSION_MS;
  return `${expires}.${sign(key, expires)}`;
}

/** True when the cookie value is ours, unexpired, and not issued further ahead than a session lasts. */
export function sessionValid(key: string, value: string | undefined, nowMs: number): boolean {
  const m = /^(\d{13})\.([0-9a-f]{64})$/.exec(value ?? "");
  if (!m) return false;
  const expires = Number(m[1]);
  if (expires <= nowMs || expires > nowMs + SESSION_MS + 60_000) return false;
  return signatureMatches(sign(key, expires), m[2]!);
}

/** The secret a user typed, checked against the stored hash in constant time. */
export function secretMatches(operatorHash: string, typed: string): boolean {
  return typed.trim() !== "" && signatureMatches(operatorHash, hashSecret(typed));
}

export function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a new session, or (value "") one that removes it. */
export function sessionCookie(value: string, secure: boolean): string {
  const attrs = [`${SESSION_COOKIE}=${value}`, "Path=/", "HttpOnly", "SameSite=Strict", value ? `Max-Age=${SESSION_MS / 1000}` : "Max-Age=0"];
  if (secure) attrs.push("Secure");
  return attrs.join("; ");
}

/**
 * Failed logins per client address: after `max` failures within `windowMs` further attempts are
 * refused until the window ends, so the operator secret cannot be guessed at speed.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; until: number }>();
  constructor(
    private readonly max = 5,
    private readonly windowMs = 60_000,
  ) {}

  /** ms until `client` may try again; 0 = now */
  retryAfter(client: string, nowMs: number): number {
    const f = this.failures.get(client);
    if (!f || f.until <= nowMs) return 0;
    return f.count >= this.max ? f.until - nowMs : 0;
  }

  fail(client: string, nowMs: number): void {
    if (this.failures.size > 10_000) for (const [k, f] of this.failures) if (f.until <= nowMs) this.failures.delete(k);
    const f = this.failures.get(client);
    if (!f || f.until <= nowMs) this.failures.set(client, { count: 1, until: nowMs + this.windowMs });
    else f.count++;
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }
}
