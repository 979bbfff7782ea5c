// The app in-process over a real store (SQLite here; MariaDB in the end-to-end tests): accepted,
// duplicate, refused, and the read API.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { createLogger } from "../../../src/log.ts";
import { hashSecret, newKeyPair, ROUTES } from "../../../src/protocol/api.ts";
import { setHostState } from "../../../src/store/hosts.ts";
import { openStore } from "../../../src/store/open.ts";
import type { Db } from "../../../src/store/db.ts";
import { createServerCore, type ServerCore } from "../../../src/server/run.ts";
import { reportRequest, validReport } from "../../helpers/server/fixtures.ts";

const log = createLogger("silent");
let dir: string;
let db: Db;
let core: ServerCore;
let secret: string;
const OPERATOR = "operator-secret-for-tests";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pmon-app-"));
  const config = loadConfig(undefined, { env: {}, overrides: { "server.data_dir": dir } });
  db = await openStore(config.server, log);
  secret = await registerHostWithSecret(db, "web-1");
  await registerHostWithSecret(db, "gone-1");
  await setHostState(db, "gone-1", -1);
  core = createServerCore(config, db, log, hashSecret(OPERATOR), { hostCacheMs: 0 });
});

afterAll(async () => {
  await core.ingest.drain();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const count = async (table: string, host = "web-1") => Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE rshost = ?`, [host]))[0]!.n);

describe("POST /v1/report", () => {
  test("a signed report is stored once; the same id again is a duplicate", async () => {
    const r = validReport("web-1", "boot-a-1");
    const res = await core.app.fetch(reportRequest(r, { secret }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.ok).toBe(true);
    expect(typeof body.server_version).toBe("string");
    expect(body.duplicate).toBeUndefined();
    expect(await count("tb_monitor_host_info")).toBe(1);
    expect(await count("tb_monitor_process_io_info")).toBe(3);

    const again = await core.app.fetch(reportRequest(r, { secret, replay: true, timeMs: Date.now() + 1 }));
    expect(again.status).toBe(200);
    expect(((await again.json()) as Record<string, unknown>).duplicate).toBe(true);
    expect(await count("tb_monitor_host_info")).toBe(1);
  });

  test("gzip bodies are accepted and last_report_at uses the server clock", async () => {
    const before = Date.now();
    const res = await core.app.fetch(reportRequest(validReport("web-1", "boot-a-2", Date.now() - 120_000), { secret, gzip: true }));
    expect(res.status).toBe(200);
    const row = (await db.query<{ last_report_at: number; clock_skew_ms: number }>("SELECT last_report_at, clock_skew_ms FROM tb_monitor_host_config WHERE rshost = 'web-1'"))[0]!;
    expect(Number(row.last_report_at)).toBeGreaterThanOrEqual(before);
    // the report claimed a time 2 minutes ago: the agent's clock is behind
    expect(Number(row.clock_skew_ms)).toBeLessThan(-100_000);
    expect(core.metrics.clockSkewAgents.get()).toBe(1);
  });

  test("refusals carry the right status and a message", async () => {
    const r = validReport("web-1", "boot-a-3");
    const cases: [string, Request, number, string][] = [
      ["wrong secret", reportRequest(r, { secret: newKeyPair().privateKeyPem }), 401, "bad_signature"],
      ["old timestamp", reportRequest(r, { secret, timeMs: Date.now() - 3_600_000 }), 401, "stale_timestamp"],
      ["unknown host", reportRequest({ ...r, host: "nobody" }, { secret }), 403, "unknown_host"],
      ["removed host", reportRequest({ ...r, host: "gone-1" }, { secret }), 403, "removed_host"],
      ["other host's report", reportRequest({ ...r, host: "gone-2" }, { secret, host: "web-1" }), 403, "host_mismatch"],
      ["bad json", reportRequest("{not json", { secret, host: "web-1" }), 400, "bad_json"],
      ["schema", reportRequest({ ...r, time: "yesterday" }, { secret }), 400, "bad_report"],
    ];
    for (const [name, req, status, code] of cases) {
      const res = await core.app.fetch(req);
      const body = (await res.json()) as { ok: boolean; code: string; error: string };
      expect({ name, status: res.status, code: body.code }).toEqual({ name, status, code });
      expect(body.error.length).toBeGreaterThan(5);
    }
    const schema = await core.app.fetch(reportRequest({ ...r, time: "yesterday" }, { secret, timeMs: Date.now() + 5 }));
    expect(((await schema.json()) as { error: string }).error).toContain("report.time");
    expect(await count("tb_monitor_host_info", "gone-1")).toBe(0);
  });

  test("a replayed request is refused with 409", async () => {
    const r = validReport("web-1", "boot-a-4");
    const timeMs = Date.now();
    const req = reportRequest(r, { secret, timeMs });
    const copy = reportRequest(r, { secret, timeMs });
    expect((await core.app.fetch(req)).status).toBe(200);
    const res = await core.app.fetch(copy);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { code: string }).code).toBe("replayed");
  });
});

describe("read API", () => {
  test("GET /v1/hosts needs the operator secret", async () => {
    expect((await core.app.fetch(new Request("http://pmon.test" + ROUTES.hosts))).status).toBe(401);
    const bad = await core.app.fetch(new Request("http://pmon.test" + ROUTES.hosts, { headers: { authorization: "Bearer wrong" } }));
    expect(bad.status).toBe(401);
    const ok = await core.app.fetch(new Request("http://pmon.test" + ROUTES.hosts, { headers: { authorization: `Bearer ${OPERATOR}` } }));
    expect(ok.status).toBe(200);
    expect(Array.isArray(((await ok.json()) as { hosts: unknown[] }).hosts)).toBe(true);
  });

  test("/healthz and /metrics", async () => {
    const h = await core.app.fetch(new Request("http://pmon.test/healthz"));
    expect(h.status).toBe(200);
    const m = await (await core.app.fetch(new Request("http://pmon.test/metrics"))).text();
    expect(m).toContain('pmon_reports_accepted_total{outcome="stored"}');
    expect(m).toContain('pmon_reports_rejected_total{reason="bad_signature"}');
    expect(m).toContain("pmon_spool_replays_total 1");
    expect(m).toContain("pmon_store_write_seconds_count");
    expect(m).toContain("pmon_ingest_queue_depth 0");
    // the skewed host sent a report with a good clock since: it is no longer counted
    expect(m).toContain("pmon_agents_clock_skewed 0");
  });
});

describe("host cache", () => {
  test("a host enrolled again (new secret) is accepted at once, the old secret refused", async () => {
    const dir2 = mkdtempSync(join(tmpdir(), "pmon-app-cache-"));
    const config = loadConfig(undefined, { env: {}, overrides: { "server.data_dir": dir2 } });
    const db2 = await openStore(config.server, log);
    try {
      const cached = createServerCore(config, db2, log, hashSecret(OPERATOR), { hostCacheMs: 60_000 });
      const old = await registerHostWithSecret(db2, "rekey-1");
      expect((await cached.app.fetch(reportRequest(validReport("rekey-1", "rk-1"), { secret: old }))).status).toBe(200);
      const fresh = await registerHostWithSecret(db2, "rekey-1");
      expect((await cached.app.fetch(reportRequest(validReport("rekey-1", "rk-2"), { secret: fresh }))).status).toBe(200);
      expect((await cached.app.fetch(reportRequest(validReport("rekey-1", "rk-3"), { secret: old }))).status).toBe(401);
      await cached.ingest.drain();
    } finally {
      await db2.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
