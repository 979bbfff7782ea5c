// Talking to /ui/api/: JSON in and out, with the session cookie the browser keeps.

/** The server said 401: the page shows the login form. */
export class NeedLogin extends Error {
  override name = "NeedLogin";
}

let onNeedLogin: () => void = () => {};

/** What to do when a request finds the session gone (expired, or logged out in another tab). */
export function whenLoggedOut(fn: () => void): void {
  onNeedLogin = fn;
}

export async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, String(v));
  const res = await fetch(`/ui/api/${path}${query.size ? `?${query}` : ""}`, { credentials: "same-origin", headers: { accept: "application/json" } });
  if (res.status === 401) {
    onNeedLogin();
    throw new NeedLogin("log in first");
  }
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body as T;
}

export async function postJson(path: string, body: unknown): Promise<{ ok: boolean; status: number; error?: string }> {
  const res = await fetch(`/ui/api/${path}`, { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const reply = (await res.json().catch(() => ({}))) as { error?: string };
  return { ok: res.ok, status: res.status, error: reply.error };
}
