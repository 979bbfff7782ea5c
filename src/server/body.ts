// Reading a request body with a hard size limit, before and after gunzip (zip bombs).
import { gunzipSync } from "node:zlib";
import { HttpError } from "./errors.ts";

/**
 * Reads at most `maxBytes` of the body; more (declared or actual) is a 413. With a Content-Length the
 * body goes straight into one buffer of that size, so a large body costs its size once, not twice.
 */
export async function readLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  const length = declared !== null && /^\d{1,12}$/.test(declared) ? Number(declared) : undefined;
  if (length !== undefined && length > maxBytes) throw tooLarge(maxBytes);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  if (length !== undefined) {
    const out = new Uint8Array(length);
    let at = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.byteLength > length) {
        await reader.cancel().catch(() => {});
        throw new HttpError(400, "bad_length", `body longer than its Content-Length (${length})`);
      }
      out.set(value, at);
      at += value.byteLength;
    }
    if (at !== length) throw new HttpError(400, "bad_length", `body shorter than its Content-Length (${at} of ${length} bytes)`);
    return out;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Undoes Content-Encoding: gzip, never inflating past `maxBytes`. */
export function decodeBody(raw: Uint8Array, encoding: string | null, maxBytes: number): Uint8Array {
  const enc = (encoding ?? "identity").trim().toLowerCase();
  if (enc === "identity" || enc === "") return raw;
  if (enc !== "gzip") throw new HttpError(415, "bad_encoding", `unsupported Content-Encoding "${enc}" (use gzip or none)`);
  try {
    return gunzipSync(raw, { maxOutputLength: maxBytes });
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) throw tooLarge(maxBytes, "after gunzip");
    throw new HttpError(400, "bad_gzip", `body is not valid gzip: ${(e as Error).message}`);
  }
}

function tooLarge(maxBytes: number, when = ""): HttpError {
  return new HttpError(413, "too_large", `body larger than ${maxBytes} bytes${when ? " " + when : ""} (server.max_body_mb)`);
}
