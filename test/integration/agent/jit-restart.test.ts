// The long-running agent execs itself once with the DFG tier off (src/util/exec-self.ts): the same pid
// then reports, under its own name, with the option in its environment; an operator's own setting wins.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JIT_OPTION } from "../../../src/util/exec-self.ts";
import { until } from "../../helpers/agent/harness.ts";
import { requireBinary } from "../../helpers/binary.ts";
import { enrollNoDeploy, freePort, startAgent, startServer, waitHttp, type Proc } from "../../helpers/server/procs.ts";

let dir: string;
const procs: Proc[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pmon-jit-"));
});
afterAll(() => {
  for (const p of procs) p.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");

test("the agent loop restarts itself with the DFG tier off, same pid and name; an operator's setting is kept", async () => {
  expect(process.env[JIT_OPTION]).toBeUndefined(); // else the first agent would not restart
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const storage = `sqlite:${join(dir, "pmon.db")}`;
  procs.push(startServer(dir, storage, port));
  await waitHttp(url);
  const agents: Record<string, Proc> = {};
  for (const [host, env] of [["plain", {}], ["operator", { [JIT_OPTION]: "1" }]] as const) {
    const secretFile = join(dir, `${host}.secret`);
    expect(await enrollNoDeploy(dir, storage, host, secretFile)).toBe(0);
    agents[host] = startAgent({ dir, host, servers: [url], secretFile, env });
    procs.push(agents[host]);
  }
  const metric = async (re: RegExp) => Number(re.exec(await (await fetch(url + "/metrics")).text())?.[1] ?? 0);
  await until(async () => (await metric(/^pmon_hosts\{state="running"\} (\d+)/m)) === 2, 60_000, "both agents reporting");
  await until(async () => (await metric(/^pmon_reports_accepted_total\{outcome="stored"\} (\d+)/m)) >= 4, 60_000, "4 stored reports");

  const plain = agents.plain!.proc;
  expect(plain.exitCode).toBeNull(); // the pid we started is the one running the loop
  expect(environ(plain.pid)).toContain(`${JIT_OPTION}=0`);
  expect(readFileSync(`/proc/${plain.pid}/comm`, "utf8").trim()).toBe("pmon"); // not "exe"
  // the same arguments, byte for byte (as startAgent passes them)
  const args = [requireBinary(), "agent", "--server", url, "--host", "plain", "--data-dir", join(dir, "plain"), "--secret-file", join(dir, "plain.secret"), "--interval", "1"];
  expect(readFileSync(`/proc/${plain.pid}/cmdline`, "utf8")).toBe(args.join("\0") + "\0");
  const op = agents.operator!.proc;
  expect(op.exitCode).toBeNull();
  expect(environ(op.pid)).toContain(`${JIT_OPTION}=1`);
  expect(environ(op.pid)).not.toContain(`${JIT_OPTION}=0`);
  for (const a of Object.values(agents)) expect(a.text()).not.toContain("default JIT options");
}, 120_000);
