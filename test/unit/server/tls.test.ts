// server.tls_cert / tls_key: the same API over HTTPS (self-signed certificate made for the test).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { createLogger } from "../../../src/log.ts";
import { openStore } from "../../../src/store/open.ts";
import { runServer, type ServerHandle } from "../../../src/server/run.ts";
import { reportRequest, validReport } from "../../helpers/server/fixtures.ts";

let dir: string;
let handle: ServerHandle;
let secret: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pmon-tls-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const gen = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], { stderr: "pipe" });
  if (gen.exitCode !== 0) throw new Error(`openssl failed: ${gen.stderr.toString()}`);
  const log = createLogger("silent");
  const config = loadConfig(undefined, { env: {}, overrides: { "server.data_dir": dir, "server.listen": "127.0.0.1:0", "server.tls_cert": cert, "server.tls_key": key } });
  const db = await openStore(config.server, log);
  secret = await registerHostWithSecret(db, "tls-1");
  await db.close();
  handle = await runServer(config, log);
}, 60_000);

afterAll(async () => {
  await handle?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("reports are accepted over https", async () => {
  expect(handle.url.startsWith("https://")).toBe(true);
  const req = reportRequest(validReport("tls-1", "tls-1-1"), { secret, url: handle.url });
  const res = await fetch(req, { tls: { rejectUnauthorized: false } });
  expect(res.status).toBe(200);
  // plain http to the TLS port does not get through
  const plain = await fetch(handle.url.replace("https://", "http://") + "/healthz").then((r) => r.status, () => "refused");
  expect(plain).not.toBe(200);
});
