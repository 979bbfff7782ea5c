import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { checkHost, type HostAuth } from "../../../src/server/auth.ts";
import { HostDirectory, MISS_LOOKUPS_PER_S } from "../../../src/server/host-directory.ts";
import { HttpError } from "../../../src/server/errors.ts";

const publicKeyText = () => "ed25519:" + generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64");

/** A store of host rows that counts the queries made of it. */
function fakeStore(rows: Record<string, HostAuth>) {
  const calls = { all: 0, one: 0 };
  let down = false;
  return {
    rows,
    calls,
    setDown: (v: boolean) => (down = v),
    loadAll: async () => {
      calls.all++;
      if (down) throw new Error("store down");
      return new Map(Object.entries(rows).map(([k, v]) => [k, { ...v }]));
    },
    loadOne: async (host: string) => {
      calls.one++;
      if (down) throw new Error("store down");
      return rows[host] ? { ...rows[host]! } : undefined;
    },
  };
}

function directory(store: ReturnType<typeof fakeStore>, clock: { t: number }, maxAgeMs = 5000) {
  const errors: string[] = [];
  const d = new HostDirectory({ loadAll: store.loadAll, loadOne: store.loadOne, maxAgeMs, now: () => clock.t, onLoadError: (e) => errors.push(e.message) });
  return { d, errors };
}

describe("host directory", () => {
  test("known hosts are answered from memory: one load, no per-request query", async () => {
    const store = fakeStore({ web1: { istate: 1, secret_hash: publicKeyText() } });
    const clock = { t: 1_000_000 };
    const { d } = directory(store, clock);
    for (let i = 0; i < 100; i++) expect((await d.lookup("web1"))?.istate).toBe(1);
    expect(store.calls).toEqual({ all: 1, one: 0 });
  });

  test("unknown names reach the store only within the budget; beyond it a 503, never a wrong 403", async () => {
    const store = fakeStore({ web1: { istate: 1, secret_hash: publicKeyText() } });
    const clock = { t: 1_000_000 };
    const { d } = directory(store, clock);
    const outcomes = { unknown: 0, busy: 0 };
    for (let i = 0; i < 1000; i++) {
      try {
        expect(await d.lookup(`random-${i}`)).toBeUndefined();
        outcomes.unknown++;
      } catch (e) {
        expect(e).toBeInstanceOf(HttpError);
        expect((e as HttpError).status).toBe(503);
        outcomes.busy++;
      }
    }
    expect(outcomes).toEqual({ unknown: MISS_LOOKUPS_PER_S, busy: 1000 - MISS_LOOKUPS_PER_S });
    expect(store.calls.one).toBe(MISS_LOOKUPS_PER_S);
    expect(d.size).toBe(1);
    // the budget refills with time
    clock.t += 1000;
    expect(await d.lookup("random-again")).toBeUndefined();
  });

  test("a host enrolled after the load is found at once; a removed one is refused after the next load", async () => {
    const store = fakeStore({ web1: { istate: 1, secret_hash: publicKeyText() } });
    const clock = { t: 1_000_000 };
    const { d } = directory(store, clock);
    await d.lookup("web1");
    store.rows.web2 = { istate: 1, secret_hash: publicKeyText() };
    expect((await d.lookup("web2"))?.istate).toBe(1);
    expect(store.calls.one).toBe(1);
    await d.lookup("web2");
    expect(store.calls.one).toBe(1);
    store.rows.web1 = { istate: -1, secret_hash: "" };
    clock.t += 5000;
    await d.lookup("web1"); // starts the reload; the old directory answers meanwhile
    await Bun.sleep(0);
    expect((await d.lookup("web1"))?.istate).toBe(-1);
    expect(store.calls.all).toBe(2);
  });

  test("a re-keyed host is rechecked in the store; the same key is not", async () => {
    const oldKey = publicKeyText();
    const store = fakeStore({ web1: { istate: 1, secret_hash: oldKey } });
    const clock = { t: 1_000_000 };
    const { d } = directory(store, clock);
    const row = (await d.lookup("web1"))!;
    expect(await d.recheck("web1", row)).toBeUndefined();
    const newKey = publicKeyText();
    store.rows.web1 = { istate: 1, secret_hash: newKey };
    expect((await d.recheck("web1", row))?.secret_hash).toBe(newKey);
    expect((await d.lookup("web1"))?.secret_hash).toBe(newKey);
  });

  test("a parsed key survives reloads while the key is the same", async () => {
    const store = fakeStore({ web1: { istate: 1, secret_hash: publicKeyText() } });
    const clock = { t: 1_000_000 };
    const { d } = directory(store, clock);
    const first = checkHost("web1", await d.lookup("web1"));
    clock.t += 5000;
    await d.lookup("web1");
    await Bun.sleep(0);
    expect(store.calls.all).toBe(2);
    expect(checkHost("web1", await d.lookup("web1"))).toBe(first);
  });

  test("when a reload fails the previous directory keeps answering; with none yet the request fails", async () => {
    const store = fakeStore({ web1: { istate: 1, secret_hash: publicKeyText() } });
    const clock = { t: 1_000_000 };
    store.setDown(true);
    const { d, errors } = directory(store, clock);
    await expect(d.lookup("web1")).rejects.toThrow("store down");
    store.setDown(false);
    await d.lookup("web1");
    store.setDown(true);
    clock.t += 5000;
    expect((await d.lookup("web1"))?.istate).toBe(1);
    await Bun.sleep(0);
    expect(errors).toEqual(["store down"]);
    expect((await d.lookup("web1"))?.istate).toBe(1);
  });

  test("maxAgeMs 0: every lookup asks the store", async () => {
    const store = fakeStore({ web1: { istate: 1, secret_hash: publicKeyText() } });
    const { d } = directory(store, { t: 0 }, 0);
    await d.lookup("web1");
    await d.lookup("nobody");
    expect(store.calls).toEqual({ all: 0, one: 2 });
  });
});
