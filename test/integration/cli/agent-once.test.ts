// The compiled binary against the fixture trees, compared with test/fixtures/golden/agent-once.json.
// `id` and `time` come from the agent (random boot id, wall clock) and are normalised; so are the
// filesystem sizes (statfs of "/" on this machine) and `user` (the owner of the checked-out fixture dirs).
// UPDATE_GOLDEN=1 rewrites the golden file.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createUserResolver } from "../../../src/collect/users.ts";
import { decodeReport, type Report } from "../../../src/protocol/report.ts";
import { requireBinary } from "../../helpers/binary.ts";

const FIXTURES = join(import.meta.dir, "../../fixtures");
const GOLDEN = join(FIXTURES, "golden/agent-once.json");

/** The agent with an empty config file and no PMON_* variables, so nothing of this machine leaks in. */
function runAgent(args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "pmon-once-"));
  try {
    const config = join(dir, "empty.toml");
    writeFileSync(config, "");
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PMON_")));
    const p = Bun.spawnSync([requireBinary(), "agent", "--config", config, ...args], { env: { ...env, PMON_LOG_LEVEL: "warn" }, stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fixtureArgs = ["--once", "--json", "--proc-root", join(FIXTURES, "proc"), "--proc-root-next", join(FIXTURES, "proc-next"), "--sys-root", join(FIXTURES, "sys"), "--top-n", "2"];

function normalise(r: Report): unknown {
  const owner = createUserResolver()(statSync(join(FIXTURES, "proc/1")).uid);
  return {
    ...r,
    id: "<id>",
    time: "<time>",
    agent_version: "<version>",
    system: {
      ...r.system,
      filesystems: r.system.filesystems.map((f) => {
        expect(f.total_bytes).toBeGreaterThan(0);
        expect(f.used_bytes + f.free_bytes).toBeLessThanOrEqual(f.total_bytes);
        return { ...f, total_bytes: "<statfs>", used_bytes: "<statfs>", free_bytes: "<statfs>" };
      }),
    },
    processes: r.processes.map((p) => {
      expect(p.user).toBe(owner);
      return { ...p, user: "<fixture-owner>" };
    }),
  };
}

describe("pmon agent --once on fixtures", () => {
  test("matches the golden report", () => {
    const out = runAgent(fixtureArgs);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const report = decodeReport(JSON.parse(out.stdout));
    expect(report.id).toMatch(/-1$/);
    expect(Math.abs(report.time - Date.now())).toBeLessThan(600_000);
    const got = normalise(report);
    if (process.env.UPDATE_GOLDEN === "1" || !existsSync(GOLDEN)) {
      if (process.env.UPDATE_GOLDEN !== "1") throw new Error(`${GOLDEN} missing: run with UPDATE_GOLDEN=1`);
      mkdirSync(dirname(GOLDEN), { recursive: true });
      writeFileSync(GOLDEN, JSON.stringify(got, null, 2) + "\n");
    }
    expect(got).toEqual(JSON.parse(readFileSync(GOLDEN, "utf8")));
  });

  test("without --json prints a readable summary", () => {
    const out = runAgent(fixtureArgs.filter((a) => a !== "--json"));
    expect(out.code).toBe(0);
    expect(out.stdout).toContain("fixture-host  window 2000 ms");
    expect(out.stdout).toMatch(/\n\s+800 .*\/usr\/bin\/java/);
  });

  test("--host overrides the tree's hostname; a bad one is one line, exit 2 (configuration)", () => {
    expect(decodeReport(JSON.parse(runAgent([...fixtureArgs, "--host", "db-7"]).stdout)).host).toBe("db-7");
    const bad = runAgent([...fixtureArgs, "--host", "no spaces"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n").filter((l) => l.trim() !== "")).toHaveLength(1);
    expect(bad.stderr).toContain("not valid");
  });

  test("a missing proc root is one line, exit 2 (configuration), no stack", () => {
    const out = runAgent(["--once", "--json", "--proc-root", join(FIXTURES, "does-not-exist")]);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain("cannot collect from");
    expect(out.stderr).not.toContain("    at ");
  });

  test("a bad --sample-ms is a config error: exit 2", () => {
    const out = runAgent(["--once", "--sample-ms", "soon"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("agent.sample_ms");
  });
});
