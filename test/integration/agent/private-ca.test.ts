// agent.ca_file: an https server whose certificate a private CA signed (made here with openssl) is
// trusted through that file, and refused without it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAgentCredentials } from "../../../src/agent/run.ts";
import { createTransport } from "../../../src/agent/transport.ts";
import { writeAgentKeyFile } from "../../../src/keys/agent-key.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { createLogger } from "../../../src/log.ts";
import { loadReplyKey, replyKeyPath } from "../../../src/keys/reply-key.ts";
import { runServer, type ServerHandle } from "../../../src/server/run.ts";
import { openStore } from "../../../src/store/open.ts";
import { validReport } from "../../helpers/server/fixtures.ts";

const log = createLogger("silent");
let dir: string;
let server: ServerHandle;

function openssl(args: string[]): void {
  const r = Bun.spawnSync(["openssl", ...args], { stderr: "pipe", cwd: dir });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString()}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pmon-ca-"));
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=pmon test CA"]);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n");
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "san.ext"]);
  const config = loadConfig(undefined, {
    env: {},
    overrides: { "server.data_dir": join(dir, "server"), "server.listen": "127.0.0.1:0", "server.tls_cert": join(dir, "server.pem"), "server.tls_key": join(dir, "server.key") },
  });
  const db = await openStore(config.server, log);
  const key = await registerHostWithSecret(db, "ca-1");
  await db.close();
  writeAgentKeyFile(join(dir, "agent.key"), key, [loadReplyKey(replyKeyPath(config.server), { create: true }).publicKey]);
  server = await runServer(config, log);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function send(caFile: string) {
  const config = loadConfig(undefined, { env: {}, overrides: { "agent.secret_file": join(dir, "agent.key"), "agent.ca_file": caFile, "agent.servers": [server.url] } });
  const cred = readAgentCredentials(config.agent);
  const t = createTransport({ servers: config.agent.servers, secret: cred.privateKeyPem, serverKeys: cred.serverKeys, ca: cred.ca, log, timeoutMs: 5000 });
  return (await t.send(JSON.stringify(validReport("ca-1", `ca-1-${caFile ? "ca" : "none"}`)), { host: "ca-1", replay: false })).result;
}

test("with agent.ca_file the report is delivered over https; without it the certificate is refused", async () => {
  expect(server.url.startsWith("https://127.0.0.1:")).toBe(true);
  expect((await send(join(dir, "ca.pem"))).kind).toBe("delivered");
  const without = await send("");
  expect(without.kind).toBe("retry");
  expect(without.status).toBeNull();
});

test("a missing ca_file is a setup error naming the key", () => {
  const config = loadConfig(undefined, { env: {}, overrides: { "agent.secret_file": join(dir, "agent.key"), "agent.ca_file": join(dir, "nope.pem") } });
  expect(() => readAgentCredentials(config.agent)).toThrow(/agent\.ca_file .*nope\.pem: ENOENT/);
});
