// `pmon config check`: where each value came from, secrets masked, and the side-effect-free checks.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkConfig, renderResolved } from "../../../src/cli/config.ts";
import { resolveConfig } from "../../../src/config/load.ts";

const dir = mkdtempSync(join(tmpdir(), "pmon-config-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(p, text);
  return p;
}

describe("config check", () => {
  test("each non-default value names its file line, environment variable or option; defaults name nothing", () => {
    const path = file(`[agent]\ntop_n = 5\n\n[server]\nretention_days = 7\n`);
    const { config, sources } = resolveConfig(path, { env: { PMON_AGENT_INTERVAL_S: "15" }, overrides: { "server.listen": "127.0.0.1:9400" } });
    const text = renderResolved(config, sources);
    expect(text).toContain(`top_n = 5  # from ${path}:2`);
    expect(text).toContain(`retention_days = 7  # from ${path}:5`);
    expect(text).toContain("interval_s = 15  # from environment variable PMON_AGENT_INTERVAL_S");
    expect(text).toContain(`listen = "127.0.0.1:9400"  # from command-line option for server.listen`);
    expect(text).toMatch(/\nsample_ms = 1000\n/);
  });

  test("the storage password, channel keys and signing secrets are never printed", () => {
    const path = file(
      `[server]\nstorage = "mysql://pmon:hunter2@db1:3306/pmon"\n\n[[alerts.channels]]\ntype = "dingtalk"\n` +
        `url = "https://oapi.dingtalk.com/robot/send?access_token=tok123"\nsecret = "SECabc"\n`,
    );
    const { config, sources } = resolveConfig(path, { env: {} });
    const text = renderResolved(config, sources);
    for (const secret of ["hunter2", "tok123", "SECabc"]) expect(text).not.toContain(secret);
    expect(text).toContain(`storage = "mysql://pmon:***@db1:3306/pmon"`);
    expect(text).toContain(`url = "https://oapi.dingtalk.com/***"`);
  });

  test("missing TLS and identity files, and a half-set TLS pair, fail; a SQLite file to be created is fine", async () => {
    const path = file(`[server]\ntls_cert = "${join(dir, "nope.pem")}"\ndata_dir = "${dir}"\n[deploy]\nidentity = "${join(dir, "id_nope")}"\n`);
    const checks = await checkConfig(resolveConfig(path, { env: {} }).config, false);
    const failed = checks.filter((c) => !c.ok).map((c) => c.what);
    expect(failed.sort()).toEqual(["deploy.identity", "server.tls_cert", "server.tls_cert/tls_key"]);
    expect(checks.find((c) => c.what === "server.storage")).toMatchObject({ ok: true, detail: expect.stringContaining("does not exist yet") });
  });

  test("a SQLite path in a directory that does not exist fails, naming the directory", async () => {
    const path = file(`[server]\nstorage = "sqlite:${join(dir, "missing", "pmon.db")}"\n`);
    const [storage] = (await checkConfig(resolveConfig(path, { env: {} }).config, true)).filter((c) => c.what === "server.storage");
    expect(storage).toMatchObject({ ok: false, detail: expect.stringContaining(join(dir, "missing")) });
  });
});
