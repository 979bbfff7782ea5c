// The server-down alert on hosts enrolled over ssh, with the chat keys only where the operator put
// them: alerts.server_down_witnesses names h1, so only h1's deployed config (0600) holds the channel.
// With the server stopped, exactly one alert reaches a local webhook receiver, and one recovery once
// it is back. Lab: sshd hosts in network namespaces; the server, its SQLite store and the receiver
// run in the lab's control namespace.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { requireBinary, ROOT } from "../../helpers/binary.ts";
import { labServerListening, spawnLabServer, stopLabServer, writeLabConfig } from "../../helpers/fleet/lab-server.ts";
import { createLab, waitFor, type Lab, type LabHost } from "../../lab/lab.ts";

const HOOK_PORT = 9301;
let lab: Lab;
let dir: string;
let config: string;
let posts: string;
let server: Subprocess | undefined;
let receiver: Subprocess;
let h1: LabHost;
let h2: LabHost;

interface Post {
  body: { host: string; kind: string; state: string };
}
const received = (): Post[] => (existsSync(posts) ? readFileSync(posts, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Post) : []);
const serverDown = (state: string) => received().filter((p) => p.body.kind === "server_down" && p.body.state === state);

function startServer(name: string): void {
  server = spawnLabServer(lab, requireBinary(), config, join(dir, `${name}.log`));
}

async function stopServer(): Promise<void> {
  await stopLabServer(server);
  server = undefined;
}

beforeAll(async () => {
  lab = await createLab(2);
  [h1, h2] = lab.hosts as [LabHost, LabHost];
  dir = join(lab.dir, "server");
  mkdirSync(dir, { recursive: true });
  posts = join(dir, "posts.jsonl");
  config = writeLabConfig(lab, dir, "pmon.toml", {
    intervalS: 1,
    sampleMs: 300,
    managerIntervalS: 2,
    more: `[alerts]
language = "en"
server_down_rounds = 2
witness_fresh_s = 5
tries = 1
server_down_witnesses = ["${h1.addr}"]

[[alerts.channels]]
type = "webhook"
url = "http://${lab.ctlAddr}:${HOOK_PORT}/hook"`,
  });
  receiver = Bun.spawn([...lab.ctlPrefix, join(ROOT, "node_modules/.bin/bun"), join(ROOT, "test/helpers/alerts/receiver-process.ts"), lab.ctlAddr, String(HOOK_PORT), posts], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  await new Response(receiver.stdout as ReadableStream).body!.getReader().read(); // "listening"
  startServer("server-1");
  await labServerListening(lab, join(dir, "server-1.log"));
}, 120_000);

afterAll(async () => {
  await stopServer();
  receiver?.kill();
  await lab?.down();
}, 60_000);

test("the server names its witnesses at start", () => {
  expect(readFileSync(join(dir, "server-1.log"), "utf8")).toContain(`server-down witnesses (they hold the channels): ${h1.addr}`);
});

test("enrolled over ssh: only the named witness holds the channel, in a 0600 file", async () => {
  const r = await lab.ctl([requireBinary(), "enroll", "--config", config, h1.addr, h2.addr], { timeoutMs: 180_000 });
  expect(r.code).toBe(0);
  const witnessConfig = join(h1.dir, "opt/pmon/pmon.toml");
  const otherConfig = join(h2.dir, "opt/pmon/pmon.toml");
  expect(readFileSync(witnessConfig, "utf8")).toContain(`http://${lab.ctlAddr}:${HOOK_PORT}/hook`);
  expect(statSync(witnessConfig).mode & 0o777).toBe(0o600);
  expect(readFileSync(otherConfig, "utf8")).not.toContain("hook");
  expect(readFileSync(otherConfig, "utf8")).not.toContain("channels");
}, 200_000);

test("server stopped: exactly one alert, from the witness; server back: one recovery", async () => {
  // a few rounds so both agents hold the server's witness list
  await Bun.sleep(3000);
  await stopServer();
  await waitFor("the server-down alert", () => serverDown("firing").length > 0, 60_000, 100);
  // more rounds pass; nobody else may alert (h2 holds no channel and is not the witness)
  await Bun.sleep(5000);
  expect(serverDown("firing").map((p) => p.body.host)).toEqual([h1.addr]);
  startServer("server-2");
  await waitFor("the recovery", () => serverDown("resolved").length > 0, 60_000, 100);
  await Bun.sleep(3000);
  expect(serverDown("resolved").map((p) => p.body.host)).toEqual([h1.addr]);
  expect(serverDown("firing")).toHaveLength(1);
  // h2 knew it was not the witness
  const h2Log = await lab.ssh(h2, "journalctl -u pmon-agent.service --no-pager -o cat 2>/dev/null; cat /opt/pmon/pmon.log 2>/dev/null");
  expect(h2Log.stdout).toContain(`witness ${h1.addr} raises the alert`);
}, 180_000);

test("with no witness named, the server says at start that nobody can raise the server-down alert", async () => {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { freePort } = await import("../../helpers/server/procs.ts");
  const d = mkdtempSync(join(tmpdir(), "pmon-no-witness-"));
  try {
    const file = join(d, "pmon.toml");
    writeFileSync(file, `[server]\nlisten = "127.0.0.1:${freePort()}"\ndata_dir = "${d}"\n[[alerts.channels]]\ntype = "webhook"\nurl = "http://127.0.0.1:9/hook"\n`);
    const log = join(d, "server.log");
    const p = Bun.spawn([requireBinary(), "server", "--config", file], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(log) });
    await waitFor("the server to listen", () => existsSync(log) && readFileSync(log, "utf8").includes("listening on"), 30_000, 100);
    await waitFor("the alert loop's start line", () => readFileSync(log, "utf8").includes("alerts:"), 10_000, 100);
    p.kill("SIGTERM");
    await p.exited;
    expect(readFileSync(log, "utf8")).toContain("alerts.server_down_witnesses is empty: no enrolled host holds the alert channels, so nobody can raise the server-down alert");
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}, 60_000);
