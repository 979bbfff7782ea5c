// What one request may cost before and after it is authenticated: the bytes of bodies being read
// at once (all hosts together), and how many reports one host may send per second.
import { HttpError } from "./errors.ts";

/**
 * Total request-body bytes in flight. A body is read only after its declared length is reserved
 * here; when the budget is spent the request is answered 503 at once, without reading it, so a flood
 * of large bodies costs at most the budget (plus what the HTTP layer buffers).
 */
export class InflightBudget {
  private used = 0;
  constructor(readonly capBytes: number) {}

  /** Reserves `bytes` or throws 503; call the returned function exactly once when done. */
  reserve(bytes: number): () => void {
    if (this.used + bytes > this.capBytes) {
      throw new HttpError(503, "busy", `server busy: ${Math.round(this.used / 1024)} KiB of request bodies in flight (server.max_inflight_mb); try again`);
    }
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
    };
  }

  get inUse(): number {
    return this.used;
  }
}

/**
 * Token bucket per authenticated host: `ratePerS` reports per second on average, bursts of `burst`.
 * Counted only after the signature verified, so nobody can spend another host's allowance.
 */
export class HostRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for `host` or throws 429. */
  take(host: string, nowMs: number): void {
    const b = this.buckets.get(host) ?? { tokens: this.burst, at: nowMs };
    b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, nowMs - b.at) / 1000) * this.ratePerS);
    b.at = nowMs;
    if (b.tokens < 1) {
      this.buckets.set(host, b);
      throw new HttpError(429, "rate_limited", `host "${host}" sends more than ${this.ratePerS} reports/s (server.host_reports_per_s); try again later`);
    }
    b.tokens -= 1;
    this.buckets.set(host, b);
  }

  /** Forgets full buckets (a host idle long enough to refill); keeps the map to the active hosts. */
  prune(nowMs: number): void {
    for (const [host, b] of this.buckets) if (b.tokens + ((nowMs - b.at) / 1000) * this.ratePerS >= this.burst) this.buckets.delete(host);
  }

  get size(): number {
    return this.buckets.size;
  }
}
