// 1,000+ malformed, mutated, oversized, unsigned and replayed reports against a server over MariaDB:
// each is refused with the right status and a message, the server keeps serving, and none of them
// leaves a row. Most go through createApp's fetch in-process; a sample goes over a real port.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { loadConfig } from "../../../src/config/load.ts";
import type { ResolvedConfig } from "../../../src/config/schema.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { createLogger } from "../../../src/log.ts";
import { HEADERS, ROUTES, hashSecret, newKeyPair, signedHeaders } from "../../../src/protocol/api.ts";
import type { Db } from "../../../src/store/db.ts";
import { openStore } from "../../../src/store/open.ts";
import { createServerCore, runServer, type ServerCore, type ServerHandle } from "../../../src/server/run.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";
import { makeReport } from "../../helpers/reports.ts";
import { reportRequest } from "../../helpers/server/fixtures.ts";

const log = createLogger("silent");
const HOST = "fuzz-1";
const OTHER = "fuzz-2";
let dir: string;
let config: ResolvedConfig;
let db: Db;
let core: ServerCore;
let real: ServerHandle;
let secret: string;
let otherSecret: string;

beforeAll(async () => {
  const maria = await testMariaDB("pmon_fuzz");
  dir = mkdtempSync(join(tmpdir(), "pmon-fuzz-"));
  config = loadConfig(undefined, {
    env: {},
    overrides: { "server.storage": maria.url, "server.data_dir": dir, "server.max_body_mb": 1, "server.listen": "127.0.0.1:0", "server.host_reports_per_s": 1000 },
  });
  db = await openStore(config.server, log);
  secret = await registerHostWithSecret(db, HOST);
  otherSecret = await registerHostWithSecret(db, OTHER);
  core = createServerCore(config, db, log, hashSecret("op"), { hostCacheMs: 0 });
  real = await runServer(config, log);
}, 60_000);

afterAll(async () => {
  await real?.stop();
  await core?.ingest.drain();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

// --- a seeded generator, so a failure can be replayed ---
let seed = 20261125;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

type Path = (string | number)[];
interface Leaf {
  path: Path;
  value: unknown;
  /** inside capabilities/collector_errors: keys there are free-form, so dropping one is valid */
  inRecord: boolean;
}

function paths(v: unknown, path: Path = [], inRecord = false, out: Leaf[] = []): Leaf[] {
  if (path.length) out.push({ path, value: v, inRecord });
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...path, i], inRecord, out));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) paths(x, [...path, k], inRecord || k === "capabilities" || k === "collector_errors", out);
  }
  return out;
}

function setAt(obj: unknown, path: Path, fn: (parent: Record<string | number, unknown>, key: string | number) => void): unknown {
  const copy = structuredClone(obj);
  let cur = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  fn(cur, path.at(-1)!);
  return copy;
}

/** A value of the wrong type for `v` (never valid where `v` was). */
function wrongType(v: unknown): unknown {
  if (typeof v === "number") return pick(["12", {}, [], true]);
  if (typeof v === "string") return pick([12, {}, [], false]);
  if (typeof v === "boolean") return pick([{}, []]);
  if (v === null) return pick(["x", {}, []]);
  if (Array.isArray(v)) return pick(["x", 1, {}]);
  return pick(["x", 1, [], null]);
}

interface Case {
  kind: string;
  request: () => Request;
  status: number;
  code: string;
}

// ~30 KB on the wire, 30 MB once inflated
const bomb = gzipSync(Buffer.alloc(30 * 1024 * 1024, 32));

function cases(n: number): Case[] {
  const out: Case[] = [];
  const kinds = ["drop", "type", "negative", "huge", "badjson", "badgzip", "oversized", "bomb", "unsigned", "badsig", "wronghost", "unknownhost", "old", "future", "version"];
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length]!;
    const report = makeReport({ host: HOST, id: `fuzz-${i}` });
    const leaves = paths(report);
    const sign = (body: unknown, o: Partial<Parameters<typeof reportRequest>[1]> = {}) => () => reportRequest(body, { secret, host: HOST, ...o });
    switch (kind) {
      case "drop": {
        const leaf = pick(leaves.filter((l) => !l.inRecord && typeof l.path.at(-1) === "string"));
        out.push({ kind, request: sign(setAt(report, leaf.path, (p, k) => delete p[k])), status: 400, code: "bad_report" });
        break;
      }
      case "type": {
        const leaf = pick(leaves.filter((l) => l.path[0] !== "v"));
        out.push({ kind, request: sign(setAt(report, leaf.path, (p, k) => (p[k] = wrongType(leaf.value)))), status: 400, code: "bad_report" });
        break;
      }
      case "negative": {
        const leaf = pick(leaves.filter((l) => typeof l.value === "number" && !l.inRecord && l.path[0] !== "v"));
        out.push({ kind, request: sign(setAt(report, leaf.path, (p, k) => (p[k] = -1 - rand() * 1e6))), status: 400, code: "bad_report" });
        break;
      }
      case "huge": {
        const leaf = pick(leaves.filter((l) => typeof l.value === "string" && !l.inRecord));
        out.push({ kind, request: sign(setAt(report, leaf.path, (p, k) => (p[k] = "x".repeat(70_000)))), status: 400, code: "bad_report" });
        break;
      }
      case "badjson": {
        const text = JSON.stringify(report);
        const cut = 1 + Math.floor(rand() * (text.length - 2));
        out.push({ kind, request: sign(pick([text.slice(0, cut), text.slice(0, cut) + "}}", "\u0000" + text, text.replace(":", "=")])), status: 400, code: "bad_json" });
        break;
      }
      case "badgzip": {
        const junk = new Uint8Array(50 + Math.floor(rand() * 500)).map(() => Math.floor(rand() * 256));
        out.push({
          kind,
          request: () => {
            const headers = { ...signedHeaders(secret, HOST, Date.now(), junk), "content-encoding": "gzip" };
            return new Request("http://pmon.test" + ROUTES.report, { method: "POST", headers, body: junk });
          },
          status: 400,
          code: "bad_gzip",
        });
        break;
      }
      case "oversized": {
        const r = { ...report, processes: Array(10_000).fill(report.processes[0]) };
        if (JSON.stringify(r).length <= config.server.max_body_mb * 1024 * 1024) throw new Error("the oversized case is not oversized");
        out.push({ kind, request: sign(r), status: 413, code: "too_large" });
        break;
      }
      case "bomb": {
        out.push({
          kind,
          request: () => new Request("http://pmon.test" + ROUTES.report, { method: "POST", headers: { ...signedHeaders(secret, HOST, Date.now(), bomb), "content-encoding": "gzip" }, body: bomb }),
          status: 413,
          code: "too_large",
        });
        break;
      }
      case "unsigned": {
        const body = JSON.stringify(report);
        const drop = pick([HEADERS.host, HEADERS.time, HEADERS.signature]);
        out.push({
          kind,
          request: () => {
            const h: Record<string, string> = { ...signedHeaders(secret, HOST, Date.now(), new TextEncoder().encode(body)) };
            delete h[drop];
            return new Request("http://pmon.test" + ROUTES.report, { method: "POST", headers: h, body });
          },
          status: 401,
          code: "unsigned",
        });
        break;
      }
      case "badsig":
        out.push({ kind, request: sign(report, { secret: pick([newKeyPair().privateKeyPem, otherSecret]) }), status: 401, code: "bad_signature" });
        break;
      case "wronghost":
        // correctly signed by HOST, but claiming to be OTHER's report
        out.push({ kind, request: sign({ ...report, host: OTHER }), status: 403, code: "host_mismatch" });
        break;
      case "unknownhost":
        out.push({ kind, request: () => reportRequest({ ...report, host: "nobody-" + i }, { secret }), status: 403, code: "unknown_host" });
        break;
      case "old":
        out.push({ kind, request: sign(report, { timeMs: Math.floor(Date.now() - (config.server.max_skew_s + 10 + rand() * 1e6) * 1000) }), status: 401, code: "stale_timestamp" });
        break;
      case "future":
        out.push({ kind, request: sign(report, { timeMs: Math.floor(Date.now() + (config.server.max_skew_s + 10 + rand() * 1e6) * 1000) }), status: 401, code: "stale_timestamp" });
        break;
      case "version":
        out.push({ kind, request: sign({ ...report, v: pick([0, 2, "1", null]) }), status: 400, code: "bad_report" });
        break;
    }
  }
  return out;
}

const rowCount = async () => Number((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_info"))[0]!.n);

describe("hostile input", () => {
  test("1,050 bad requests in-process: right status, a message, no rows", async () => {
    const all = cases(1050);
    const wrong: string[] = [];
    for (const [i, c] of all.entries()) {
      const res = await core.app.fetch(c.request());
      const body = (await res.json()) as { ok: boolean; code: string; error: string };
      if (res.status !== c.status || body.code !== c.code || !body.error || body.ok !== false) {
        wrong.push(`#${i} ${c.kind}: expected ${c.status} ${c.code}, got ${res.status} ${body.code} ${body.error}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await rowCount()).toBe(0);
    const rejected = [...core.metrics.rejected.values.values()].reduce((a, b) => a + b, 0);
    expect(rejected).toBe(all.length);

    // and the server still takes a good report
    const ok = await core.app.fetch(reportRequest(makeReport({ host: HOST, id: "fuzz-good-1" }), { secret }));
    expect(ok.status).toBe(200);
    expect(await rowCount()).toBe(1);
  }, 120_000);

  test("replays of accepted requests are refused and add nothing", async () => {
    const before = await rowCount();
    for (let i = 0; i < 20; i++) {
      const report = makeReport({ host: HOST, id: `fuzz-replay-${i}` });
      const t = Date.now();
      expect((await core.app.fetch(reportRequest(report, { secret, timeMs: t }))).status).toBe(200);
      const again = await core.app.fetch(reportRequest(report, { secret, timeMs: t }));
      expect(again.status).toBe(409);
    }
    expect(await rowCount()).toBe(before + 20);
  }, 60_000);

  test("over a real port: a sample of every kind, then a valid report", async () => {
    const sample = cases(150).filter((_, i) => i % 5 === 0);
    for (const c of sample) {
      const inproc = c.request();
      const req = new Request(real.url + ROUTES.report, { method: "POST", headers: inproc.headers, body: await inproc.arrayBuffer() });
      const res = await fetch(req);
      const body = (await res.json()) as { code: string; error: string };
      expect({ kind: c.kind, status: res.status, code: body.code }).toEqual({ kind: c.kind, status: c.status, code: c.code });
      expect(body.error.length).toBeGreaterThan(0);
    }
    const before = await rowCount();
    const good = reportRequest(makeReport({ host: HOST, id: "fuzz-good-port" }), { secret, url: real.url });
    const res = await fetch(good);
    expect(res.status).toBe(200);
    expect(await rowCount()).toBe(before + 1);
  }, 60_000);
});
