// /metrics of a real server after real reports: valid for promtool, with the standard process_* metrics,
// build info and the host counts by state.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../../package.json";
import { HOST_STATES } from "../../../src/protocol/api.ts";
import { until } from "../../helpers/agent/harness.ts";
import { enrollNoDeploy, freePort, startAgent, startServer, waitHttp, type Proc } from "../../helpers/server/procs.ts";

let dir: string;
const procs: Proc[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pmon-metrics-"));
});
afterAll(() => {
  for (const p of procs) p.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** value of one sample line, e.g. sample(text, 'pmon_build_info{version="0.1.0"') */
function sample(text: string, prefix: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(prefix) && [" ", "{", ","].includes(l.charAt(prefix.length)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

test("promtool accepts /metrics; process_*, build info and reports counted after real reports", async () => {
  const started = Date.now() / 1000;
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const storage = `sqlite:${join(dir, "pmon.db")}`;
  procs.push(startServer(dir, storage, port));
  await waitHttp(url);
  const secretFile = join(dir, "m1.secret");
  expect(await enrollNoDeploy(dir, storage, "m1", secretFile)).toBe(0);
  procs.push(startAgent({ dir, host: "m1", servers: [url], secretFile }));

  let text = "";
  await until(async () => {
    text = await (await fetch(url + "/metrics")).text();
    return (sample(text, 'pmon_reports_accepted_total{outcome="stored"}') ?? 0) >= 2;
  }, 60_000, "2 stored reports");

  const check = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stderr: "pipe", stdout: "pipe" });
  expect(check.stderr.toString() + check.stdout.toString()).toBe("");
  expect(check.exitCode).toBe(0);

  expect(sample(text, "process_resident_memory_bytes")!).toBeGreaterThan(10 * 1024 * 1024);
  expect(sample(text, "process_cpu_seconds_total")!).toBeGreaterThan(0);
  const start = sample(text, "process_start_time_seconds")!;
  expect(start).toBeGreaterThanOrEqual(started - 5);
  expect(start).toBeLessThanOrEqual(Date.now() / 1000);
  expect(sample(text, "process_open_fds")!).toBeGreaterThan(3);
  expect(sample(text, `pmon_build_info{version="${pkg.version}"`)).toBe(1);
  expect(text).not.toMatch(/^# HELP .*src\//m); // HELP texts describe the metric, not the code
  // host counts by every state pmon status knows, from the same classification
  for (const state of HOST_STATES) expect(sample(text, `pmon_hosts{state="${state}"}`)).toBe(state === "running" ? 1 : 0);
  expect(sample(text, 'pmon_fleet_jobs_total{action="deploy",outcome="running"}')).toBe(0);
}, 120_000);
