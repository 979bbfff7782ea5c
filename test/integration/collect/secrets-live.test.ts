// A live process whose argv holds secrets and terminal escapes, collected by the real agent code
// (`pmon agent --once`'s runOnce), sent to the real server over loopback on both stores, then shown by
// the compiled `pmon top`: the secrets are in neither the report, the database nor the output, and the
// escapes reach the terminal as text (\x1b, \u202e), never as raw control characters.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOnce } from "../../../src/agent/once.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { createLogger } from "../../../src/log.ts";
import { TABLES } from "../../../src/store/schema.ts";
import { runServer, type ServerHandle } from "../../../src/server/run.ts";
import { requireBinary } from "../../helpers/binary.ts";
import { reportRequest } from "../../helpers/server/fixtures.ts";
import { BACKENDS } from "../../helpers/store/backends.ts";

setDefaultTimeout(60_000);

const HOST = "secret-host";
const SECRETS = ["S3cr3tOne", "S3cr3tTwo", "S3cr3tThree", "S3cr3tFour", "S3cr3tFive", "S3cr3tSix"];
const ESCAPES = "\x1b]0;owned\x07\u202eevil";

describe.each(BACKENDS)("command-line secrets and escapes on $name", (backend) => {
  let dir: string;
  let server: ServerHandle;
  let secret: string;
  let storeUrl: string;
  let cleanup: () => Promise<void>;
  let child: ChildProcess;

  beforeAll(async () => {
    const store = await backend.open();
    storeUrl = store.url;
    cleanup = store.cleanup;
    dir = mkdtempSync(join(tmpdir(), "pmon-secrets-"));
    const config = loadConfig(undefined, { env: {}, overrides: { "server.data_dir": dir, "server.listen": "127.0.0.1:0", "server.storage": store.url } });
    server = await runServer(config, createLogger("silent"));
    secret = await registerHostWithSecret(server.db, HOST);
    // a busy shell (so it is the host's top CPU process) carrying every secret form the agent masks
    const argv = [
      "-c",
      "while :;do :;done",
      ESCAPES,
      `--password=${SECRETS[0]}`,
      `PASSWORD=${SECRETS[1]}`,
      `mysql://app:${SECRETS[2]}@db.example:3306/x`,
      "--api-key",
      SECRETS[3]!,
      "mysql",
      `-p${SECRETS[4]}`,
      `--hunter2=${SECRETS[5]}`,
    ];
    child = spawn("/bin/sh", argv, { stdio: "ignore" });
  });

  afterAll(async () => {
    child.kill("SIGKILL");
    await server.stop();
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the report, every table and `pmon top` hold no secret; ESC and U+202E print escaped", async () => {
    const agentConfig = loadConfig(undefined, { env: {}, overrides: { "agent.host": HOST, "agent.sample_ms": 1000, "agent.sensitive_words": ["hunter2"] } });
    const report = await runOnce(agentConfig, createLogger("silent"));
    child.kill("SIGKILL");
    const mine = report.processes.find((p) => p.pid === child.pid);
    expect(mine).toBeDefined(); // else nothing below could fail
    expect(mine!.cmdline).toContain("--password=********");
    expect(mine!.cmdline).toContain("-p********");
    expect(mine!.cmdline).toContain(ESCAPES); // stored as is; only terminals get the escaped form
    const wire = JSON.stringify(report);
    for (const s of SECRETS) expect(wire).not.toContain(s);

    const res = await fetch(reportRequest(report, { secret, url: server.url }));
    expect(res.status).toBe(200);

    let remarks = 0;
    for (const table of TABLES) {
      const rows = await server.db.query<Record<string, unknown>>(`SELECT * FROM ${table}`);
      const text = JSON.stringify(rows);
      for (const s of SECRETS) expect(text).not.toContain(s);
      if (text.includes("owned")) remarks++;
    }
    expect(remarks).toBeGreaterThan(0); // the command line did reach the store

    const config = join(dir, "top.toml");
    writeFileSync(config, `[server]\ndata_dir = ${JSON.stringify(dir)}\nstorage = ${JSON.stringify(storeUrl)}\nurl = "http://127.0.0.1:9"\n`);
    const top = spawnSync(requireBinary(), ["top", "--host", HOST, "--by", "cpu", "--limit", "1000", "--config", config], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, TZ: "UTC", NO_COLOR: "1" },
    });
    expect(top.status).toBe(0);
    expect(top.stdout).toContain("\\x1b]0;owned\\x07\\u202eevil");
    expect(top.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    for (const s of SECRETS) expect(top.stdout + top.stderr).not.toContain(s);
  });
});
