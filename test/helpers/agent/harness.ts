// An in-process pmon server over SQLite behind a switch: `down = true` makes it answer 503 (or drop
// connections), so agent tests can cause outages without restarting anything.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { createLogger } from "../../../src/log.ts";
import type { KeyObject } from "node:crypto";
import { HEADERS, hashSecret, signReply } from "../../../src/protocol/api.ts";
import { loadReplyKey } from "../../../src/keys/reply-key.ts";
import { serverKeysOf } from "../keys.ts";
import type { Db } from "../../../src/store/db.ts";
import { openStore } from "../../../src/store/open.ts";
import { createServerCore, type ServerCore } from "../../../src/server/run.ts";

export interface TestServer {
  url: string;
  db: Db;
  core: ServerCore;
  secrets: Record<string, string>;
  /** the server's reply key, as agents pin it */
  serverKeys: KeyObject[];
  /** "up" serves, "503" answers 503, "override" answers with `override` */
  mode: "up" | "503" | "override";
  override?: (req: Request) => Response | Promise<Response>;
  /** a reply to `req` signed with this server's reply key, as the real app signs it */
  signedReply(req: Request, status: number, body: unknown): Response;
  requests: number;
  stop(): Promise<void>;
}

export async function startTestServer(hosts: string[]): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "pmon-agent-srv-"));
  const log = createLogger("silent");
  // agents here report every few ms, far above the per-host rate limit a real fleet needs
  const config = loadConfig(undefined, { env: {}, overrides: { "server.data_dir": dir, "server.host_reports_per_s": 10_000 } });
  const db = await openStore(config.server, log);
  const secrets: Record<string, string> = {};
  for (const h of hosts) secrets[h] = await registerHostWithSecret(db, h);
  const replyKey = loadReplyKey(join(dir, "reply.key"), { create: true }).privateKey;
  const core = createServerCore(config, db, log, hashSecret("op"), { hostCacheMs: 0 });
  const ts: TestServer = {
    url: "",
    db,
    core,
    secrets,
    serverKeys: serverKeysOf(dir),
    signedReply(req, status, body) {
      const bytes = new TextEncoder().encode(JSON.stringify(body));
      const sig = signReply(replyKey, req.headers.get(HEADERS.signature) ?? "", status, bytes);
      return new Response(bytes, { status, headers: { "content-type": "application/json", [HEADERS.replySignature]: sig } });
    },
    mode: "up",
    requests: 0,
    async stop() {
      http.stop(true);
      await core.ingest.drain();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const http = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      ts.requests++;
      if (ts.mode === "503") return new Response('{"ok":false,"code":"store_unavailable","error":"test outage"}', { status: 503 });
      if (ts.mode === "override") return ts.override!(req);
      return core.app.fetch(req);
    },
  });
  ts.url = `http://127.0.0.1:${http.port}`;
  return ts;
}

/** A port nothing listens on (bound then released). */
export function deadUrl(): string {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const url = `http://127.0.0.1:${s.port}`;
  s.stop(true);
  return url;
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
