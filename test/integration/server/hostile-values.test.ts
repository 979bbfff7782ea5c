// Values no real host produces, sent by an enrolled host to the real server (HTTP on loopback) over
// both stores: each is a 400 naming the field, before the store (no failed batch, no one-by-one
// fallback), the host's clock skew is untouched, and its next honest report is stored. And the agent
// side: a FUSE device name longer than the protocol allows is cut on the host, not refused.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { createLogger } from "../../../src/log.ts";
import { MAX_PID } from "../../../src/protocol/report.ts";
import { hashSecret } from "../../../src/protocol/api.ts";
import { setSecretHash } from "../../../src/store/fleet.ts";
import { registerHost } from "../../../src/store/hosts.ts";
import { runServer, type ServerHandle } from "../../../src/server/run.ts";
import { createProcFs } from "../../../src/procfs/fs.ts";
import { fixtureReport, PROC, PROC_NEXT } from "../../helpers/collect/helpers.ts";
import { reportRequest, validReport } from "../../helpers/server/fixtures.ts";
import { BACKENDS } from "../../helpers/store/backends.ts";

setDefaultTimeout(60_000);

const HOST = "hostile-1";

describe.each(BACKENDS)("hostile values on $name", (backend) => {
  let dir: string;
  let server: ServerHandle;
  let secret: string;
  let cleanup: () => Promise<void>;
  let seq = 0;

  beforeAll(async () => {
    const store = await backend.open();
    cleanup = store.cleanup;
    dir = mkdtempSync(join(tmpdir(), "pmon-hostile-"));
    // a body limit large enough that the 30,000-process report reaches the validator
    const config = loadConfig(undefined, {
      env: {},
      overrides: { "server.data_dir": dir, "server.listen": "127.0.0.1:0", "server.storage": store.url, "server.max_body_mb": 64 },
    });
    // errors only: a report the store could not write says why in the test output
    server = await runServer(config, createLogger("error"));
    secret = await registerHostWithSecret(server.db, HOST);
  });

  afterAll(async () => {
    await server.stop();
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = async (report: unknown, timeMs = Date.now()) => {
    const res = await fetch(reportRequest(report, { secret, host: HOST, url: server.url, timeMs }));
    return { status: res.status, body: (await res.json()) as { ok: boolean; code?: string; error?: string } };
  };
  const hostRow = async () =>
    (await server.db.query<{ clock_skew_ms: number | null; last_agent_time: number | null }>("SELECT clock_skew_ms, last_agent_time FROM tb_monitor_host_config WHERE rshost = ?", [HOST]))[0]!;
  const stored = async () => Number((await server.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_process_io_info WHERE rshost = ?", [HOST]))[0]!.n);

  test("pid=3e9, cpu_pct=1e307, time=9e15 and 30,000 processes: 400 naming the field, nothing stored, skew unharmed", async () => {
    expect(await post(validReport(HOST, `ok-${++seq}`))).toMatchObject({ status: 200 });
    const before = await hostRow();
    const rowsBefore = await stored();
    expect(before.clock_skew_ms).not.toBeNull();

    const withProcess = (over: Record<string, number>) => {
      const r = validReport(HOST, `bad-${++seq}`);
      Object.assign(r.processes[0]!, over);
      return r;
    };
    const cases: [string, unknown, string][] = [
      ["pid 3e9", withProcess({ pid: 3e9 }), "report.processes[0].pid"],
      ["pid one over the kernel's limit", withProcess({ pid: MAX_PID + 1 }), "report.processes[0].pid"],
      ["cpu_pct 1e307", withProcess({ cpu_pct: 1e307 }), "report.processes[0].cpu_pct"],
      ["time 9e15", validReport(HOST, `bad-${++seq}`, 9e15), "report.time"],
      ["time a day ahead of the signed time", validReport(HOST, `bad-${++seq}`, Date.now() + 86_400_000), "report.time"],
      ["time older than any spool keeps", validReport(HOST, `bad-${++seq}`, Date.now() - 400 * 86_400_000), "report.time"],
      ["30,000 processes", validReport(HOST, `bad-${++seq}`, Date.now(), 30_000), "report.processes"],
    ];
    for (const [name, report, field] of cases) {
      const { status, body } = await post(report);
      expect({ name, status, code: body.code }).toEqual({ name, status: 400, code: "bad_report" });
      expect(body.error!.startsWith(`${field}:`)).toBe(true);
    }

    // refused before the store: no failed batch, hence no one-by-one fallback
    expect(server.metrics.batches.get({ outcome: "error" })).toBe(0);
    expect(server.metrics.rejected.get({ reason: "bad_report" })).toBe(cases.length);
    expect(await stored()).toBe(rowsBefore);
    const after = await hostRow();
    expect(Math.abs(Number(after.clock_skew_ms) - Number(before.clock_skew_ms))).toBeLessThan(5_000);
    expect(after.last_agent_time).toBe(before.last_agent_time);

    // the host is not blind: its next honest report is stored
    expect(await post(validReport(HOST, `ok-${++seq}`))).toMatchObject({ status: 200 });
    expect(await stored()).toBe(rowsBefore + 3);
  });

  test("a report time inside the window but far off is stored with the skew clamped to max_skew_s", async () => {
    // 200 s ahead of the server: passes the signed-time window (max_skew_s 300) ...
    const { status } = await post(validReport(HOST, `ahead-${++seq}`, Date.now() + 200_000));
    expect(status).toBe(200);
    expect(Number((await hostRow()).clock_skew_ms)).toBeGreaterThan(150_000);
    // ... a spooled-looking time a month back, sent as fresh: the skew is clamped, not -30 days
    expect((await post(validReport(HOST, `behind-${++seq}`, Date.now() - 30 * 86_400_000))).status).toBe(200);
    expect(Number((await hostRow()).clock_skew_ms)).toBe(-300_000);
  });

  test("a 300-character FUSE device name is cut on the host: the server accepts the report", async () => {
    const device = `sshfs#backup@nas.example:/${"d".repeat(300 - 26)}`;
    expect(device.length).toBe(300);
    const fstype = `fuse.${"f".repeat(80)}`;
    // the fixture host's mounts plus one FUSE mount whose names exceed the protocol's limits
    const withFuse = (root: string) =>
      createProcFs(root, {
        readText: (path) => {
          const text = readFileSync(path, "latin1");
          return path.endsWith("/self/mounts") ? `${text}${device} /mnt/backup ${fstype} rw,nosuid,nodev 0 0\n` : text;
        },
      });
    const statfs = (path: string) => {
      if (path !== "/" && path !== "/mnt/backup") throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return { bsize: 4096, blocks: 1000, bfree: 400, bavail: 300 };
    };
    const collected = fixtureReport({ proc: withFuse(PROC), statfs, host: HOST, now: () => Date.now() }, withFuse(PROC_NEXT));
    const fuse = collected.system.filesystems.find((f) => f.mount === "/mnt/backup");
    expect(fuse).toBeDefined();
    expect(fuse!.device).toBe(device.slice(0, 255));
    expect(fuse!.fstype.length).toBe(64);
    const { status } = await post(collected);
    expect(status).toBe(200);
    const [row] = await server.db.query<{ part: string }>("SELECT part FROM tb_monitor_disk_info WHERE rshost = ? AND mount = '/mnt/backup'", [HOST]);
    expect(row!.part).toBe(device.slice(0, 255));
  });

  test("re-enrolling (a new secret, by either store path) forgets the old agent's clock", async () => {
    expect((await hostRow()).clock_skew_ms).not.toBeNull();
    // the re-key of `pmon enroll` (same secret here, so the host can report again)
    await setSecretHash(server.db, HOST, hashSecret(secret), Date.now());
    expect((await hostRow()).clock_skew_ms).toBeNull();
    expect((await post(validReport(HOST, `rekeyed-${++seq}`))).status).toBe(200);
    expect((await hostRow()).clock_skew_ms).not.toBeNull();
    // registering the host again
    await registerHost(server.db, HOST, { secretHash: "0".repeat(64), istate: 2 });
    const row = await hostRow();
    expect(row.clock_skew_ms).toBeNull();
    expect(row.last_agent_time).toBeNull();
  });
});
