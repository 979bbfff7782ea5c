import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ConfigError, envName, loadConfig } from "../../../src/config/load.ts";
import { KEYS, type ConfigKey } from "../../../src/config/schema.ts";
import { ROOT } from "../../helpers/binary.ts";

const fixture = (name: string) => join(import.meta.dir, "../../fixtures/config", name);
const noEnv = { env: {} };

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("conf/pmon.toml", () => {
  test("documents every key with its default", () => {
    const fromFile = loadConfig(join(ROOT, "conf/pmon.toml"), noEnv);
    const defaults = loadConfig(undefined, { env: { PMON_CONFIG: undefined } });
    const { source: _a, ...a } = fromFile;
    const { source: _b, ...b } = defaults;
    expect(a).toEqual(b);
    const text = require("node:fs").readFileSync(join(ROOT, "conf/pmon.toml"), "utf8") as string;
    for (const key of Object.keys(KEYS)) {
      const name = key.split(".")[1]!;
      expect(text).toMatch(new RegExp(`^${name} = `, "m"));
    }
  });
});

describe("precedence: defaults < file < env < flags", () => {
  test("defaults", () => {
    const c = loadConfig(undefined, { env: {} });
    expect(c.agent.interval_s).toBe(30);
    expect(c.thresholds.process_cpu_pct).toBe(200);
    expect(c.server.retention_days).toBe(30);
    expect(c.alerts.channels).toEqual([]);
  });
  test("file over defaults, with channels", () => {
    const c = loadConfig(fixture("channels.toml"), noEnv);
    expect(c.agent.interval_s).toBe(15);
    expect(c.agent.mounts).toEqual(["/", "/data"]);
    expect(c.alerts.channels.map((ch) => ch.type)).toEqual(["wecom", "webhook"]);
    expect(c.source).toBe(fixture("channels.toml"));
  });
  test("env over file, flags over env", () => {
    const env = { PMON_AGENT_INTERVAL_S: "20", PMON_AGENT_MOUNTS: "/a, /b" };
    expect(loadConfig(fixture("channels.toml"), { env }).agent.interval_s).toBe(20);
    expect(loadConfig(fixture("channels.toml"), { env }).agent.mounts).toEqual(["/a", "/b"]);
    expect(loadConfig(fixture("channels.toml"), { env, overrides: { "agent.interval_s": 5 } }).agent.interval_s).toBe(5);
  });
  test("env names", () => {
    expect(envName("server.storage" as ConfigKey)).toBe("PMON_SERVER_STORAGE");
  });
  test("PMON_CONFIG names the file when no path is given", () => {
    expect(loadConfig(undefined, { env: { PMON_CONFIG: fixture("channels.toml") } }).agent.interval_s).toBe(15);
  });
});

describe("bad files name the file, line and key", () => {
  test("syntax error: file and line", () => {
    const e = errorOf(() => loadConfig(fixture("bad-syntax.toml"), noEnv));
    expect(e.message).toStartWith(`${fixture("bad-syntax.toml")}:3:`);
    expect(e.message).toContain("TOML syntax error");
  });
  test("unknown key", () => {
    const e = errorOf(() => loadConfig(fixture("bad-unknown.toml"), noEnv));
    expect(e.message).toBe(`${fixture("bad-unknown.toml")}:3: unknown key "agent.intervall_s" (did you mean agent.interval_s?)`);
  });
  test("unknown section", () => {
    const e = errorOf(() => loadConfig(fixture("bad-section.toml"), noEnv));
    expect(e.message).toContain(`${fixture("bad-section.toml")}:1: unknown section [agnet]`);
  });
  test("wrong type", () => {
    const e = errorOf(() => loadConfig(fixture("bad-type.toml"), noEnv));
    expect(e.message).toBe(`${fixture("bad-type.toml")}:4: "server.retention_days" must be an integer, got "thirty"`);
  });
  test("out of range", () => {
    const e = errorOf(() => loadConfig(fixture("bad-range.toml"), noEnv));
    expect(e.message).toBe(`${fixture("bad-range.toml")}:2: "thresholds.disk_util_pct" must be between 0 and 100, got 150`);
  });
  test("bad environment value names the variable", () => {
    const e = errorOf(() => loadConfig(undefined, { env: { PMON_AGENT_TOP_N: "ten" } }));
    expect(e.message).toContain("PMON_AGENT_TOP_N");
    expect(e.message).toContain('"agent.top_n" must be an integer');
  });
  test("missing file", () => {
    const e = errorOf(() => loadConfig(fixture("nope.toml"), noEnv));
    expect(e.message).toContain("nope.toml: cannot read config file: ENOENT");
  });
  test("bad channel type", () => {
    const e = errorOf(() => loadConfig(fixture("bad-channel.toml"), noEnv));
    expect(e.message).toContain(`${fixture("bad-channel.toml")}:5: "alerts.channels[0].type" must be one of wecom, dingtalk, feishu, webhook, got "slack"`);
  });
});
