// The agent acts on a reply (drains its spool, upgrades, takes witnesses) only when a pinned server
// key signed it: a server that is not ours, or a forged reply on the path, changes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAgentLoop, type RoundResult } from "../../../src/agent/loop.ts";
import { Spool } from "../../../src/agent/spool.ts";
import { createTransport } from "../../../src/agent/transport.ts";
import { postReport } from "../../../src/client/api.ts";
import { createLogger } from "../../../src/log.ts";
import { EXIT_UPGRADE, HEADERS, MAX_REPLY_BYTES, newKeyPair, privateKeyOf, signReply } from "../../../src/protocol/api.ts";
import { VERSION } from "../../../src/version.ts";
import { validReport } from "../../helpers/server/fixtures.ts";
import { startTestServer, until, type TestServer } from "../../helpers/agent/harness.ts";

const log = createLogger("silent");
let srv: TestServer;
const dirs: string[] = [];

beforeAll(async () => {
  srv = await startTestServer(["r1", "r2"]);
});
afterAll(async () => {
  await srv.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function agent(host: string) {
  const dir = mkdtempSync(join(tmpdir(), "pmon-reply-"));
  dirs.push(dir);
  const spool = new Spool(join(dir, "spool"), { maxBytes: 1e9, maxAgeMs: 1e12 }, log);
  const stop = new AbortController();
  const rounds: RoundResult[] = [];
  let seq = 0;
  const done = runAgentLoop({
    intervalMs: 50,
    jitterMs: 0,
    replayPerS: 200,
    collect: () => validReport(host, `${host}-${++seq}`, Date.now(), 1),
    transport: createTransport({ servers: [srv.url], secret: srv.secrets[host]!, serverKeys: srv.serverKeys, log, timeoutMs: 5000 }),
    spool,
    log,
    version: VERSION,
    onRound: (r) => {
      rounds.push(r);
    },
    signal: stop.signal,
  });
  return { spool, stop, done, rounds };
}

/** A reply that would drain the spool and start an upgrade, if the agent believed it. */
const tempting = { ok: true, server_version: "99.0.0", witnesses: ["evil-1"] };

describe("replies the agent must not act on", () => {
  const impostor = privateKeyOf(newKeyPair().privateKeyPem);
  const cases: [string, (req: Request) => Response][] = [
    ["no signature", () => Response.json(tempting)],
    [
      "signed by another key",
      (req) => {
        const body = Buffer.from(JSON.stringify(tempting));
        return new Response(body, { headers: { [HEADERS.replySignature]: signReply(impostor, req.headers.get(HEADERS.signature)!, 200, body) } });
      },
    ],
    [
      "a genuine signature over another request",
      (req) => {
        const sig = req.headers.get(HEADERS.signature)!;
        const other = (sig[0] === "0" ? "1" : "0") + sig.slice(1);
        const fake = new Request(req.url, { headers: { [HEADERS.signature]: other } });
        return srv.signedReply(fake, 200, tempting);
      },
    ],
    ["genuinely signed but longer than 64 KiB", (req) => srv.signedReply(req, 200, { ...tempting, pad: "x".repeat(MAX_REPLY_BYTES) })],
  ];

  for (const [name, reply] of cases) {
    test(`${name}: the spool is not drained and no upgrade starts`, async () => {
      srv.mode = "503";
      const a = agent("r1");
      await until(() => a.spool.size >= 3, 30_000, "3 spooled reports");
      srv.mode = "override";
      srv.override = reply;
      const spooled = a.spool.size;
      const seen = a.rounds.length;
      await until(() => a.rounds.length >= seen + 5, 30_000, "5 rounds against the bad replies");
      a.stop.abort();
      const { exitCode, stats } = await a.done;
      srv.mode = "up";
      expect(exitCode).toBe(0);
      expect(stats.delivered).toBe(0);
      expect(stats.replayed).toBe(0);
      // every report of those rounds was kept: the spool only grew
      expect(a.spool.size).toBeGreaterThanOrEqual(spooled + 5);
      expect(a.rounds.every((r) => !r.ok && r.reply === undefined)).toBe(true);
      expect(a.rounds.at(-1)!.servers[0]!.code).toBe(name.includes("64 KiB") ? "reply_too_large" : "bad_reply_signature");
    });
  }

  test("the genuine server's replies drain the spool and a genuine newer version exits for the upgrade", async () => {
    srv.mode = "503";
    const a = agent("r2");
    await until(() => a.spool.size >= 3, 30_000, "3 spooled reports");
    srv.mode = "up";
    await until(() => a.spool.size === 0, 30_000, "the spool to drain");
    srv.mode = "override";
    srv.override = (req) => srv.signedReply(req, 200, tempting);
    const { exitCode } = await a.done;
    srv.mode = "up";
    expect(exitCode).toBe(EXIT_UPGRADE);
  });
});

describe("refusals", () => {
  const send = (host: string, secret: string, reportHost = host) =>
    postReport(srv.url, { secret, serverKeys: srv.serverKeys, host, json: JSON.stringify(validReport(reportHost, `${host}-${Date.now()}`, Date.now(), 1)), timeMs: Date.now() });

  test("to a host that is not enrolled the 403 is unsigned: the report is kept for a retry, and the reason is shown", async () => {
    srv.mode = "up";
    const r = await send("stranger-1", newKeyPair().privateKeyPem);
    expect(r).toMatchObject({ kind: "retry", status: 403, code: "bad_reply_signature" });
    expect(r.kind === "retry" && r.error).toContain("says unknown_host");
  });

  test("to an enrolled host a refusal is signed and acted on", async () => {
    srv.mode = "up";
    const r = await send("r1", srv.secrets.r1!, "r2");
    expect(r).toMatchObject({ kind: "rejected", status: 403, code: "host_mismatch" });
  });
});
