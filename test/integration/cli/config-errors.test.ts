// Config mistakes through the binary: the bad value is shown, unknown keys get "did you mean", an
// unsupported storage scheme is a config error (exit 2) before anything is created, and a command
// run without any config file says which files it looked for and how to pass one.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pmon } from "../../helpers/pmon-binary.ts";

const dir = mkdtempSync(join(tmpdir(), "pmon-config-errors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const empty = join(dir, "empty.toml");
writeFileSync(empty, "");

test("an environment value that is not a number is shown as given", async () => {
  const r = await pmon(["agent", "--once", "--config", empty], { env: { PMON_AGENT_INTERVAL_S: "abc" } });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('environment variable PMON_AGENT_INTERVAL_S: "agent.interval_s" must be an integer, got "abc"');
  expect(r.stderr).not.toContain("got null");
});

test("an unknown key in the file gets 'did you mean'", async () => {
  const file = join(dir, "typo.toml");
  writeFileSync(file, "[server]\nretention_dayz = 7\n");
  const r = await pmon(["status", "--config", file]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`${file}:2: unknown key "server.retention_dayz" (did you mean server.retention_days?)`);
  const section = join(dir, "section.toml");
  writeFileSync(section, "[alert]\nlanguage = \"en\"\n");
  expect((await pmon(["status", "--config", section])).stderr).toContain("unknown section [alert] (did you mean alerts?)");
});

test("a postgres:// storage URL is a config error before the server creates anything", async () => {
  const data = join(dir, "server-data");
  const r = await pmon(["server", "--config", empty, "--data-dir", data, "--storage", "postgres://pmon:hunter2@db1/pmon", "--listen", "127.0.0.1:0"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('"server.storage" must be mysql://user:password@host:port/db or sqlite:PATH, got "postgres://pmon:***@db1/pmon"');
  expect(r.stderr).not.toContain("hunter2");
  expect(existsSync(data)).toBe(false);
  const env = await pmon(["status", "--config", empty], { env: { PMON_SERVER_STORAGE: "redis://x" } });
  expect(env.code).toBe(2);
});

test("without a config file, a failing command says where it looked and how to pass one", async () => {
  // PMON_CONFIG unset; /etc/pmon/pmon.toml must not exist on a test machine for this to be meaningful
  if (existsSync("/etc/pmon/pmon.toml")) throw new Error("/etc/pmon/pmon.toml exists on this machine: the no-config case cannot be tested");
  const r = await pmon(["top"], { env: { PMON_SERVER_DATA_DIR: join(dir, "nothing-here") } });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`no pmon database at ${join(dir, "nothing-here", "pmon.db")}`);
  expect(r.stderr).toContain("no config file was read: PMON_CONFIG is not set and /etc/pmon/pmon.toml does not exist");
  expect(r.stderr).toContain("--config FILE");
  const st = await pmon(["status"], { env: { PMON_SERVER_DATA_DIR: join(dir, "nothing-here") } });
  expect(st.code).toBe(2);
  expect(st.stderr).toContain("no config file was read");
  expect(st.stderr).not.toContain("--from api");
});

test("a server started without a config file says so, and how to pass one", async () => {
  if (existsSync("/etc/pmon/pmon.toml")) throw new Error("/etc/pmon/pmon.toml exists on this machine: the no-config case cannot be tested");
  const { freePort, spawnPmon } = await import("../../helpers/server/procs.ts");
  const data = join(dir, "defaults-server");
  const log = join(dir, "defaults-server.log");
  expect(process.env.PMON_CONFIG).toBeUndefined();
  const p = spawnPmon(["server", "--listen", `127.0.0.1:${freePort()}`, "--data-dir", data], log);
  for (let i = 0; i < 300 && !p.text().includes("listening on"); i++) await Bun.sleep(50);
  p.proc.kill("SIGTERM");
  await p.exited;
  expect(p.text()).toContain("running on defaults (no config file was read: PMON_CONFIG is not set and /etc/pmon/pmon.toml does not exist");
}, 30_000);
