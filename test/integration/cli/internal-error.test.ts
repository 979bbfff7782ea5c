// An unexpected failure through the compiled binary: `pmon status` on a database whose host table lost
// a column pmon needs. One line with the error and what to do, exit code 4; the stack only at
// --log-level debug; never the runtime's print of the bundle's minified source lines.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { openDb } from "../../../src/store/db.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { requireBinary } from "../../helpers/binary.ts";
import { testMariaDB } from "../../helpers/mariadb.ts";

setDefaultTimeout(60_000);

let url: string;
beforeAll(async () => {
  url = (await testMariaDB("pmon_internal")).url;
  const db = openDb(url);
  await migrate(db);
  await db.exec("INSERT INTO tb_monitor_host_config (rshost, istate) VALUES ('h1', 2)");
  await db.exec("ALTER TABLE tb_monitor_host_config DROP COLUMN agent_version");
  await db.close();
});

function pmon(args: string[]) {
  const r = Bun.spawnSync([requireBinary(), ...args], { env: { ...process.env, PMON_SERVER_STORAGE: url, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Bun's default error print shows source lines as "123 | code" with a caret line under them. */
const SOURCE_LINE = /^\s*\d+\s*\|/m;

describe("an unexpected error", () => {
  test("is one line with the error and what to do, exit code 4", () => {
    const r = pmon(["status", "--source", "store"]);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\[error\] internal error: Unknown column 'c\.agent_version' in '.*' \(please file a bug with the output of the same command run with --log-level debug\)$/);
    expect(r.stderr).not.toMatch(SOURCE_LINE);
  });

  test("with --log-level debug the stack follows, still without source lines", () => {
    const r = pmon(["status", "--source", "store", "--log-level", "debug"]);
    expect(r.code).toBe(4);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/internal error: Unknown column 'c\.agent_version'.*\(please file a bug with this output\)$/);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.slice(1).some((l) => /^\s+at /.test(l))).toBe(true);
    expect(r.stderr).not.toMatch(SOURCE_LINE);
  });

  test("expected failures keep their own codes: a bad flag value is 2, a bad config 2", () => {
    const flag = pmon(["top", "--by", "disk"]);
    expect([flag.code, flag.stderr.trim().split("\n").length]).toEqual([2, 1]);
    const cfg = Bun.spawnSync([requireBinary(), "status", "--config", "/nonexistent/pmon.toml"], { stdout: "pipe", stderr: "pipe" });
    expect(cfg.exitCode).toBe(2);
  });
});
