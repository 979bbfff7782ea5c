// Web UI sessions: the signed cookie value, its expiry, the login secret check and the login limiter.
import { expect, test } from "bun:test";
import { hashSecret } from "../../../src/protocol/api.ts";
import { cookieValue, LoginLimiter, newSessionValue, secretMatches, sessionCookie, sessionKey, sessionValid, SESSION_MS } from "../../../src/ui/session.ts";

const NOW = Date.UTC(2026, 10, 24, 3, 0, 0);
const key = sessionKey(hashSecret("s3cret"));

test("a session value is valid until it expires, and only under the key that signed it", () => {
  const v = newSessionValue(key, NOW);
  expect(sessionValid(key, v, NOW)).toBe(true);
  expect(sessionValid(key, v, NOW + SESSION_MS - 1)).toBe(true);
  expect(sessionValid(key, v, NOW + SESSION_MS)).toBe(false);
  expect(sessionValid(sessionKey(hashSecret("other")), v, NOW)).toBe(false);
  // the key is derived: not the operator hash itself
  expect(key).not.toBe(hashSecret("s3cret"));
});

test("altered, stretched or malformed values are refused", () => {
  const v = newSessionValue(key, NOW);
  const [expires, sig] = v.split(".");
  expect(sessionValid(key, `${Number(expires) + 1000}.${sig}`, NOW)).toBe(false);
  expect(sessionValid(key, `${expires}.${sig!.replace(/^./, (c) => (c === "a" ? "b" : "a"))}`, NOW)).toBe(false);
  // a correctly signed value that claims to last far longer than a session (issued with a future clock)
  expect(sessionValid(key, newSessionValue(key, NOW + 86_400_000), NOW)).toBe(false);
  for (const bad of [undefined, "", "x", `${expires}`, `${expires}.`, `${expires}.${sig}x`, `-1.${sig}`]) expect(sessionValid(key, bad, NOW)).toBe(false);
});

test("the typed secret is compared with the stored hash; surrounding whitespace is ignored like in the file", () => {
  const hash = hashSecret("s3cret");
  expect(secretMatches(hash, "s3cret")).toBe(true);
  expect(secretMatches(hash, " s3cret\n")).toBe(true);
  expect(secretMatches(hash, "s3cre")).toBe(false);
  expect(secretMatches(hash, "")).toBe(false);
});

test("cookies: parsing the header and the attributes of Set-Cookie", () => {
  expect(cookieValue("a=1; pmon_session=123.abc; b=2", "pmon_session")).toBe("123.abc");
  expect(cookieValue("xpmon_session=1", "pmon_session")).toBeUndefined();
  expect(cookieValue(null, "pmon_session")).toBeUndefined();
  expect(sessionCookie("v", false)).toBe("pmon_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
  expect(sessionCookie("v", true)).toBe("pmon_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure");
  expect(sessionCookie("", false)).toBe("pmon_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
});

test("the limiter refuses a client after 5 failures in a minute, others keep trying, success forgets", () => {
  const l = new LoginLimiter(5, 60_000);
  for (let i = 0; i < 4; i++) l.fail("10.0.0.1", NOW + i);
  expect(l.retryAfter("10.0.0.1", NOW + 10)).toBe(0);
  l.fail("10.0.0.1", NOW + 10);
  expect(l.retryAfter("10.0.0.1", NOW + 10)).toBe(60_000 - 10);
  expect(l.retryAfter("10.0.0.2", NOW + 10)).toBe(0);
  expect(l.retryAfter("10.0.0.1", NOW + 60_000)).toBe(0); // the window ended
  l.fail("10.0.0.2", NOW);
  l.succeed("10.0.0.2");
  for (let i = 0; i < 4; i++) l.fail("10.0.0.2", NOW);
  expect(l.retryAfter("10.0.0.2", NOW)).toBe(0);
});
