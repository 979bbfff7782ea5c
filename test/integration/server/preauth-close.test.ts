// A request refused from its headers alone is answered before its body arrives, and the connection is
// closed: the client has sent 1 KiB of a declared 7.5 MiB when the answer and the close come.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { createLogger } from "../../../src/log.ts";
import { runServer, type ServerHandle } from "../../../src/server/run.ts";
import { openStore } from "../../../src/store/open.ts";

let dir: string;
let server: ServerHandle;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pmon-close-"));
  const config = loadConfig(undefined, { env: {}, overrides: { "server.data_dir": dir, "server.listen": "127.0.0.1:0" } });
  const db = await openStore(config.server, createLogger("silent"));
  await registerHostWithSecret(db, "known-1");
  await db.close();
  server = await runServer(config, createLogger("silent"));
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends the headers and 1 KiB of a 7.5 MiB body, then waits; returns the answer and whether the server closed. */
function halfSent(headers: Record<string, string>): Promise<{ status: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = connect(server.port, "127.0.0.1");
    let got = "";
    const done = (closed: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ status: got.split("\r\n")[0] ?? "", closed });
    };
    const timer = setTimeout(() => done(false), 10_000);
    sock.on("data", (d) => (got += d.toString()));
    sock.on("close", () => done(true));
    sock.on("error", () => {});
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    sock.write(`POST /v1/report HTTP/1.1\r\nHost: pmon.test\r\n${lines}Content-Length: ${7.5 * 1024 * 1024}\r\n\r\n`);
    sock.write(Buffer.alloc(1024));
  });
}

const sig = "ab".repeat(64);

test.each([
  ["an unknown host", { "X-Pmon-Host": "nobody", "X-Pmon-Time": String(Date.now()), "X-Pmon-Signature": sig }, "403"],
  ["a stale time", { "X-Pmon-Host": "known-1", "X-Pmon-Time": String(Date.now() - 3_600_000), "X-Pmon-Signature": sig }, "401"],
  ["a malformed signature", { "X-Pmon-Host": "known-1", "X-Pmon-Time": String(Date.now()), "X-Pmon-Signature": "nope" }, "401"],
  ["no signature at all", { "X-Pmon-Host": "known-1" }, "401"],
])("%s: answered before the body is sent, and the connection closed", async (_name, headers, status) => {
  const r = await halfSent(headers);
  expect(r.status).toStartWith(`HTTP/1.1 ${status}`);
  expect(r.closed).toBe(true);
});
