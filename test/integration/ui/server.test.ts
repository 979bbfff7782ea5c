// The web UI's server side over real sockets: the page and its assets embedded in the compiled binary
// (and their size), server.ui = false, login rate limit, cookie attributes (Secure under TLS), every
// data route refusing without a valid session, and sessions valid on every server sharing the store.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { loadConfig } from "../../../src/config/load.ts";
import type { ConfigKey } from "../../../src/config/schema.ts";
import { createLogger } from "../../../src/log.ts";
import { hashSecret } from "../../../src/protocol/api.ts";
import { runServer, type ServerHandle } from "../../../src/server/run.ts";
import { newSessionValue, sessionKey } from "../../../src/ui/session.ts";
import { freePort, spawnPmon, waitHttp } from "../../helpers/server/procs.ts";

const SECRET = "operator-secret-for-the-ui-test";
let dir: string;
const handles: ServerHandle[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pmon-ui-server-"));
  writeFileSync(join(dir, "operator.secret"), SECRET + "\n", { mode: 0o600 });
  writeFileSync(join(dir, "other.secret"), "a-different-operator-secret\n", { mode: 0o600 });
});

afterAll(async () => {
  for (const h of handles) await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function server(overrides: Partial<Record<ConfigKey, unknown>> = {}): Promise<ServerHandle> {
  const config = loadConfig(undefined, {
    env: {},
    overrides: {
      "server.data_dir": join(dir, "data"),
      "server.storage": `sqlite:${join(dir, "shared.db")}`,
      "server.listen": "127.0.0.1:0",
      "server.operator_secret_file": join(dir, "operator.secret"),
      ...overrides,
    } as never,
  });
  const h = await runServer(config, createLogger("silent"));
  handles.push(h);
  return h;
}

const login = (base: string, secret: string, init: RequestInit = {}) =>
  fetch(`${base}/ui/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ secret }), ...init });
const cookieOf = (res: Response) => /pmon_session=[^;]*/.exec(res.headers.get("set-cookie") ?? "")?.[0] ?? "";
const DATA_ROUTES = ["fleet", "alerts", `host?host=h1&from=${Date.now() - 3_600_000}&to=${Date.now()}`, `top?host=h1&at=${Date.now()}`];

test("the compiled binary serves the page and its assets from inside itself: own scripts only, JS under 250 KB gzipped", async () => {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  // started from an empty directory: nothing can come from the source tree
  const empty = mkdtempSync(join(dir, "cwd-"));
  const p = spawnPmon(["server", "--listen", `127.0.0.1:${port}`, "--storage", `sqlite:${join(empty, "pmon.db")}`, "--data-dir", empty], join(dir, "binary.log"));
  try {
    await waitHttp(base);
    const page = await fetch(base + "/");
    expect(page.status).toBe(200);
    const html = await page.text();
    // the compiled binary serves the bundle with its own headers: the policy again, plus what <meta> cannot say
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("default-src 'none'");
    // no inline script, nothing from another origin
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const scripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"|<link[^>]*href="([^"]+)"[^>]*rel="stylesheet"/g)].map((m) => m[1] ?? m[2]!);
    expect(scripts.length).toBeGreaterThan(0);
    expect(styles.length).toBeGreaterThan(0);
    let gz = 0;
    let raw = 0;
    for (const src of scripts) {
      const res = await fetch(new URL(src, base));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("text/javascript");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const body = new Uint8Array(await res.arrayBuffer());
      expect(new TextDecoder().decode(body)).toContain("uplot");
      raw += body.length;
      gz += gzipSync(body, { level: 9 }).length;
    }
    for (const href of styles) expect((await fetch(new URL(href, base))).status).toBe(200);
    console.log(`web UI JavaScript: ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped`);
    expect(gz).toBeLessThan(250 * 1024);
    // the data behind it needs a session
    expect((await fetch(base + "/ui/api/fleet")).status).toBe(401);
  } finally {
    p.proc.kill("SIGTERM");
    await p.exited;
  }
}, 60_000);

test("server.ui = false: no page, no UI API, reports and /healthz as before", async () => {
  const h = await server({ "server.ui": false, "server.storage": `sqlite:${join(dir, "off.db")}` });
  expect((await fetch(h.url + "/")).status).toBe(404);
  expect((await fetch(h.url + "/ui/api/session")).status).toBe(404);
  expect((await login(h.url, SECRET)).status).toBe(404);
  expect((await fetch(h.url + "/healthz")).status).toBe(200);
});

describe("sessions", () => {
  let a: ServerHandle;
  beforeAll(async () => {
    a = await server();
  });

  test("login sets an HttpOnly, SameSite=Strict, 12 h cookie (no Secure over plain HTTP); logout clears it", async () => {
    const res = await login(a.url, SECRET);
    expect(res.status).toBe(200);
    const set = res.headers.get("set-cookie") ?? "";
    expect(set).toMatch(/^pmon_session=\d{13}\.[0-9a-f]{64}; /);
    expect(set).toContain("HttpOnly");
    expect(set).toContain("SameSite=Strict");
    expect(set).toContain("Max-Age=43200");
    expect(set).not.toContain("Secure");
    const cookie = cookieOf(res);
    const fleet = await fetch(a.url + "/ui/api/fleet", { headers: { cookie } });
    expect(fleet.status).toBe(200);
    expect(fleet.headers.get("cache-control")).toBe("no-store");
    const out = await fetch(a.url + "/ui/api/logout", { method: "POST", headers: { cookie } });
    expect(out.headers.get("set-cookie")).toContain("pmon_session=; ");
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
  });

  test("every data route refuses without a session, with a forged, an expired or another secret's cookie", async () => {
    const now = Date.now();
    const forged = `pmon_session=${newSessionValue(sessionKey(hashSecret(SECRET)), now).replace(/.$/, (c) => (c === "0" ? "1" : "0"))}`;
    const expired = `pmon_session=${newSessionValue(sessionKey(hashSecret(SECRET)), now - 13 * 3_600_000)}`;
    const otherKey = `pmon_session=${newSessionValue(sessionKey(hashSecret("a-different-operator-secret")), now)}`;
    const good = `pmon_session=${newSessionValue(sessionKey(hashSecret(SECRET)), now)}`;
    for (const route of DATA_ROUTES) {
      for (const cookie of [undefined, forged, expired, otherKey]) {
        const res = await fetch(`${a.url}/ui/api/${route}`, { headers: cookie ? { cookie } : {} });
        expect([route, cookie, res.status]).toEqual([route, cookie, 401]);
      }
      expect([route, (await fetch(`${a.url}/ui/api/${route}`, { headers: { cookie: good } })).status]).toEqual([route, 200]);
    }
    expect(await (await fetch(`${a.url}/ui/api/session`, { headers: { cookie: forged } })).json()).toMatchObject({ logged_in: false });
  });

  test("no other writes: data routes are GET only, login and logout POST only, login takes JSON", async () => {
    const cookie = cookieOf(await login(a.url, SECRET));
    expect((await fetch(a.url + "/ui/api/fleet", { method: "POST", headers: { cookie } })).status).toBe(405);
    expect((await fetch(a.url + "/ui/api/login")).status).toBe(405);
    expect((await fetch(a.url + "/ui/api/logout")).status).toBe(405);
    const form = await fetch(a.url + "/ui/api/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `secret=${SECRET}` });
    expect(form.status).toBe(415);
    expect((await fetch(`${a.url}/ui/api/host?host=${encodeURIComponent("bad host")}&from=1&to=2`, { headers: { cookie } })).status).toBe(400);
    expect((await fetch(`${a.url}/ui/api/host?host=h1&from=5&to=5`, { headers: { cookie } })).status).toBe(400);
    expect((await fetch(`${a.url}/ui/api/top?host=h1&at=now`, { headers: { cookie } })).status).toBe(400);
  });

  test("a session from one server works on another sharing the store and the operator secret, not on one with another secret", async () => {
    const b = await server();
    const c = await server({ "server.operator_secret_file": join(dir, "other.secret") });
    const cookie = cookieOf(await login(a.url, SECRET));
    expect((await fetch(b.url + "/ui/api/fleet", { headers: { cookie } })).status).toBe(200);
    expect((await fetch(c.url + "/ui/api/fleet", { headers: { cookie } })).status).toBe(401);
  }, 60_000);

  test("failed logins are rate limited per client: the 6th attempt in a minute is refused even with the right secret", async () => {
    const d = await server({ "server.storage": `sqlite:${join(dir, "limit.db")}` });
    for (let i = 0; i < 5; i++) expect((await login(d.url, `wrong-${i}`)).status).toBe(401);
    const limited = await login(d.url, SECRET);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: string }).error).toContain("too many failed logins");
    // another server is not affected: the limit is per server and per client
    expect((await login(a.url, SECRET)).status).toBe(200);
  });
});

test("under TLS the session cookie is Secure", async () => {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const gen = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], { stderr: "pipe" });
  if (gen.exitCode !== 0) throw new Error(`openssl failed: ${gen.stderr.toString()}`);
  const h = await server({ "server.tls_cert": cert, "server.tls_key": key, "server.storage": `sqlite:${join(dir, "tls.db")}` });
  expect(h.url.startsWith("https://")).toBe(true);
  const res = await login(h.url, SECRET, { tls: { rejectUnauthorized: false } } as RequestInit);
  expect(res.status).toBe(200);
  expect(res.headers.get("set-cookie")).toContain("; Secure");
}, 30_000);
