// A full copy of the database lets nobody sign as a host: the store holds public keys only, and the
// reply key lives in a file. Built as an attacker would: every value of every table, tried as a key.
import { describe, expect, test } from "bun:test";
import { createHmac, createPrivateKey, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { createLogger } from "../../../src/log.ts";
import { HEADERS, hashSecret, ROUTES, sha256Hex } from "../../../src/protocol/api.ts";
import { createServerCore } from "../../../src/server/run.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { TABLES } from "../../../src/store/schema.ts";
import { BACKENDS } from "../../helpers/store/backends.ts";
import { reportRequest, validReport } from "../../helpers/server/fixtures.ts";

const HOST = "victim-1";

/** Ed25519 private keys an attacker could build from a 32-byte value (used as the seed). */
function seedKey(bytes: Buffer) {
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), bytes.subarray(0, 32)]);
  return createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
}

function candidateBytes(value: string): Buffer[] {
  const out: Buffer[] = [];
  const v = value.replace(/^ed25519:/, "");
  if (/^[0-9a-f]{64}$/i.test(v)) out.push(Buffer.from(v, "hex"));
  const b64 = Buffer.from(v, "base64");
  if (b64.length === 32) out.push(b64);
  const raw = Buffer.from(value);
  if (raw.length >= 32) out.push(raw.subarray(0, 32));
  return out;
}

describe.each(BACKENDS)("forging reports from a database dump on $name", (backend) => {
  test("every value of every table, used as an HMAC key or an Ed25519 seed, is refused; the honest key is accepted", async () => {
    const { db, cleanup } = await backend.open();
    const dir = mkdtempSync(join(tmpdir(), "pmon-forge-"));
    try {
      await migrate(db);
      const privateKeyPem = await registerHostWithSecret(db, HOST);
      const config = loadConfig(undefined, { env: {}, overrides: { "server.data_dir": dir } });
      const core = createServerCore(config, db, createLogger("silent"), hashSecret("op"), { hostCacheMs: 0 });

      // the dump: every column of every row of every table
      const values: string[] = [];
      for (const table of TABLES) {
        for (const row of await db.query<Record<string, unknown>>(`SELECT * FROM ${table}`)) {
          for (const v of Object.values(row)) if (v !== null && v !== undefined && String(v).length >= 16) values.push(String(v));
        }
      }
      expect(values.some((v) => v.startsWith("ed25519:"))).toBe(true);
      expect(values.join("\n")).not.toContain("PRIVATE KEY");

      const report = validReport(HOST, "forged-1");
      const body = new TextEncoder().encode(JSON.stringify(report));
      const attempts: Record<string, string>[] = [];
      for (const v of values) {
        const t = Date.now();
        // the old scheme: the stored value as the HMAC key
        attempts.push({ [HEADERS.host]: HOST, [HEADERS.time]: String(t), [HEADERS.signature]: createHmac("sha256", v).update(`${HOST}\n${t}\n${sha256Hex(body)}`).digest("hex") });
        for (const seed of candidateBytes(v)) {
          const msg = Buffer.from(`pmon-report\n${HOST}\n${t}\n${sha256Hex(body)}`);
          attempts.push({ [HEADERS.host]: HOST, [HEADERS.time]: String(t), [HEADERS.signature]: sign(null, msg, seedKey(seed)).toString("hex") });
        }
      }
      expect(attempts.length).toBeGreaterThan(3);
      const statuses = new Map<number, number>();
      for (const headers of attempts) {
        const res = await core.app.fetch(new Request("http://pmon.test" + ROUTES.report, { method: "POST", headers, body }));
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
      expect([...statuses.keys()]).toEqual([401]);
      expect(Number((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_host_info"))[0]!.n)).toBe(0);

      // the host's own key still works
      const ok = await core.app.fetch(reportRequest(report, { secret: privateKeyPem }));
      expect(ok.status).toBe(200);
      await core.ingest.drain();
    } finally {
      await cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
