// `pmon config import` through the compiled binary: the old tool's config.ini (test/fixtures/legacy)
// becomes a pmon.toml that pmon's own loader reads back with the same settings; every mapping and
// every key it could not map is printed; the password (and the robot's key) never is.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import { requireBinary, ROOT } from "../../helpers/binary.ts";

const INI = join(ROOT, "test/fixtures/legacy/config.ini");
const PASSWORD = "S3cr3t@:/#x";
const dir = mkdtempSync(join(tmpdir(), "pmon-import-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pmon(args: string[]) {
  const r = Bun.spawnSync([requireBinary(), ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("pmon config import", () => {
  const out = join(dir, "pmon.toml");
  let r: ReturnType<typeof pmon>;

  test("writes a pmon.toml that loads with the old settings", () => {
    r = pmon(["config", "import", INI, "--output", out, "--port", "9300"]);
    expect(r.stderr).toContain(`wrote ${out} (mode 0600`);
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const c = loadConfig(out, { env: {} });
    expect(c.agent.interval_s).toBe(30);
    expect(c.server.retention_days).toBe(45);
    expect(c.agent.mounts).toEqual(["/work"]);
    expect(c.thresholds).toMatchObject({ process_cpu_pct: 200, process_mem_gib: 5, disk_io_mib_s: 10, net_mib_s: 20, disk_avgqu: 5, disk_util_pct: 50 });
    expect(c.alerts.channels).toEqual([{ type: "wecom", url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key-0123" }]);
    expect(c.server.listen).toBe("0.0.0.0:9300");
    const u = new URL(c.server.storage);
    expect([u.protocol, decodeURIComponent(u.username), decodeURIComponent(u.password), u.hostname, u.port, u.pathname]).toEqual(["mysql:", "monitor_rw", PASSWORD, "192.168.1.10", "3306", "/dbzz_monitor"]);
  });

  test("prints each mapping and what it could not map, never the password or the robot key", () => {
    expect(r.stdout).toContain("global.interval_time = 30  ->  agent.interval_s = 30 s");
    expect(r.stdout).toContain("RULE.io = 10240  ->  thresholds.disk_io_mib_s = 10 MiB/s");
    expect(r.stdout).toContain("global.mount_part = /work  ->  agent.mounts = [\"/work\"]");
    expect(r.stdout).toContain("MSM.wx_url = https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***  ->  [[alerts.channels]]");
    expect(r.stdout).toContain("Monitor.mysql_* = monitor_rw (password ***) @ 192.168.1.10:3306/dbzz_monitor  ->  server.storage = mysql://monitor_rw:***@192.168.1.10:3306/dbzz_monitor");
    expect(r.stdout).toContain("--port = 9300  ->  server.listen, server.url");
    const notMapped = r.stdout.slice(r.stdout.indexOf("not mapped:"));
    for (const k of ["global.version", "global.log_file", "global.log_size", "global.script_dir", "CLIENT.path", "CLIENT.python3", "CLIENT.py3env"]) expect(notMapped).toContain(`  ${k}: `);
    for (const text of [r.stdout, r.stderr]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(encodeURIComponent(PASSWORD));
      expect(text).not.toContain("robot-key-0123");
    }
  });

  test("without --port it says the port was not mapped; odd table names are reported", () => {
    const ini = join(dir, "renamed.ini");
    writeFileSync(ini, readFileSync(INI, "utf8").replace("host_info = tb_monitor_host_info", "host_info = my_hosts").replace("[RULE]", "[RULE]\nextra = 1"));
    const x = pmon(["config", "import", ini, "--output", join(dir, "b.toml")]);
    expect(x.code).toBe(0);
    expect(x.stdout).toContain("  port: config.ini has none");
    expect(x.stdout).toContain("  Monitor.host_info: pmon always uses the table tb_monitor_host_info, not my_hosts");
    expect(x.stdout).toContain("  RULE.extra: unknown to pmon");
  });

  test("refuses to overwrite, and a file that is not an ini is one clear line", () => {
    const again = pmon(["config", "import", INI, "--output", out]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
    expect(again.stderr).toContain(`${out} exists: choose another --output or add --force`);
    const bad = join(dir, "bad.ini");
    writeFileSync(bad, "interval_time = 30\n");
    const b = pmon(["config", "import", bad, "--output", join(dir, "c.toml")]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/bad\.ini: line 1: expected \[section\] or key = value/);
    expect(existsSync(join(dir, "c.toml"))).toBe(false);
  });
});
