// Refusals carry an HTTP status and a short code; one function turns them into JSON replies.
import type { ErrorReply } from "../protocol/api.ts";

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    /** machine-readable reason; also the `reason` label of the rejected-reports counter */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/** Failures whose own text (a driver's error, an address) stays in the server log, never in a reply. */
const PRIVATE: Record<string, string> = {
  internal: "internal error (details in the server log)",
  store_unavailable: "store unavailable (details in the server log)",
};

export function errorResponse(e: HttpError, headers: Record<string, string> = {}): Response {
  const body: ErrorReply = { ok: false, code: e.code, error: PRIVATE[e.code] ?? e.message };
  return jsonResponse(e.status, body, headers);
}
