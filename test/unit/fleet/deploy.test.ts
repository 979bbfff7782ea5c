// deployHost's decisions against a simulated host (fake ssh runner, fake store, fake clock): when it
// copies, when it rolls back, and what it reports. The real thing runs in lifecycle.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import { deployHost, type DeployContext, type HostState } from "../../../src/deploy/deploy.ts";
import { DeployError, sshTarget, type Runner } from "../../../src/deploy/ssh.ts";
import { createLogger } from "../../../src/log.ts";
import { newKeyPair } from "../../../src/protocol/api.ts";

interface SimHost {
  current: string; // version of <dir>/pmon, "" = none
  previous: string; // version of pmon.prev, "" = none
  /** versions that never report on this host */
  broken: Set<string>;
  /** a step whose ssh call fails once (e.g. "pmon supervise") */
  failOnce?: string;
  scripts: string[];
  uploads: { file: string; args: string }[];
  state: HostState;
  /** the public key of the host's key file, "" = none */
  key: string;
}

const NEW = "0.2.0";
// a small stand-in for the binary: only its bytes travel
const work = mkdtempSync(join(tmpdir(), "pmon-deploy-test-"));
const binaryPath = join(work, "pmon");
writeFileSync(binaryPath, "pmon binary ".repeat(10_000));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const KEY_A = newKeyPair().publicKey;
const KEY_B = newKeyPair().publicKey;
const config = loadConfig(undefined, { env: {}, overrides: { "agent.interval_s": 2, "agent.jitter_s": 0 } });

function sim(h: Partial<SimHost> = {}): SimHost {
  return {
    current: "0.1.0",
    previous: "",
    broken: new Set(),
    scripts: [],
    uploads: [],
    state: { istate: 1, publicKey: KEY_A, agentVersion: "0.1.0", lastReportAt: 1000 },
    key: KEY_A,
    ...h,
  };
}

function context(host: SimHost): DeployContext {
  let clock = 1_000_000;
  const report = () => {
    if (!host.current || host.broken.has(host.current)) return;
    host.state = { ...host.state, agentVersion: host.current, lastReportAt: (host.state.lastReportAt ?? 0) + 1 };
  };
  const runner: Runner = async (argv, opts) => {
    const cmd = argv[argv.length - 1]!;
    const step =
      cmd.includes("zstd -dcq") ? "upload"
      : cmd.includes('echo "arch=') ? "probe"
      : cmd.includes("start_client") ? "legacy"
      : cmd.includes("ln -f pmon pmon.prev") ? "install"
      : cmd.includes("--init-key") ? `key-${argv.at(-1)!.split(" ").at(-1)!.replace(/'/g, "")}`
      : cmd.includes("the host has no agent key") ? "config"
      : cmd.includes("pmon supervise") ? "start"
      : cmd.includes("pmon.failed") ? "rollback"
      : cmd.includes("journalctl -u pmon-agent") ? "log-tail"
      : cmd.includes("mkdir -p") ? "prepare"
      : "other";
    host.scripts.push(step);
    if (host.failOnce && step === host.failOnce) {
      host.failOnce = undefined;
      return { code: 255, stdout: "", stderr: "Connection reset by peer\n" };
    }
    switch (step) {
      case "probe":
        return {
          code: 0,
          stderr: "",
          stdout: `arch=x86_64\nlibc=glibc 2.36\nsystemd=no\n${host.current ? `version=${host.current} (c)\n` : ""}free_kb=9999999\nsecret=yes\nprev=${host.previous ? "yes" : "no"}\nzstd=yes\ngzip=yes\nsha256=yes\n`,
        };
      case "upload":
        host.uploads.push({ file: opts.stdinFile ?? "", args: cmd });
        break;
      case "install":
        [host.previous, host.current] = [host.current, NEW];
        break;
      case "rollback":
        [host.current, host.previous] = [host.previous, ""];
        break;
      case "start":
        report();
        break;
      case "log-tail":
        // what an agent that cannot reach its server logs
        return { code: 0, stderr: "", stdout: host.current ? "[info] [agent] reporting every 2 s\n[warn] [agent] http://127.0.0.1:9399: network\n" : "" };
      case "key-keep":
        host.key ||= newKeyPair().publicKey;
        return { code: 0, stdout: `${host.key}\n`, stderr: "" };
      case "key-rekey":
        host.key = newKeyPair().publicKey;
        return { code: 0, stdout: `${host.key}\n`, stderr: "" };
      case "key-show":
        return { code: 0, stdout: host.key ? `${host.key}\n` : "", stderr: "" };
    }
    return { code: 0, stdout: "", stderr: "" };
  };
  return {
    config,
    log: createLogger("silent"),
    store: {
      getHost: async () => host.state,
      setPublicKey: async (_h, publicKey) => {
        host.state = { ...host.state, publicKey };
      },
    },
    serverKeys: [KEY_B],
    binaryPath,
    payloadDir: join(work, "payload"),
    versionLine: `${NEW} (c)`,
    version: NEW,
    runner,
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
  };
}

const request = { rshost: "h1", target: sshTarget("h1", config.deploy), installDir: "/opt/pmon" };

async function failure(p: Promise<unknown>): Promise<DeployError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DeployError) return e;
    throw e;
  }
  throw new Error("expected the deployment to fail");
}

describe("deployHost", () => {
  test("an upgrade copies, swaps and waits for the new version's report", async () => {
    const h = sim();
    const r = await deployHost(context(h), request);
    expect(r).toMatchObject({ copied: true, previousVersion: "0.1.0", systemd: false });
    expect(h.scripts).toEqual(["probe", "prepare", "upload", "install", "legacy", "key-keep", "config", "start"]);
    expect(h.state.agentVersion).toBe(NEW);
  });

  test("the binary goes compressed once, with its sha256, and the result says how many bytes went", async () => {
    const a = sim();
    const b = sim();
    const [ra, rb] = await Promise.all([deployHost(context(a), request), deployHost(context(b), request)]);
    expect(a.uploads).toHaveLength(1);
    // one compressed file for both hosts
    expect(b.uploads[0]!.file).toBe(a.uploads[0]!.file);
    const packed = readFileSync(a.uploads[0]!.file);
    expect(ra.codec).toBe("zstd");
    expect(ra.bytesSent).toBe(packed.length);
    expect(rb.bytesSent).toBe(packed.length);
    expect(packed.length).toBeLessThan(statSync(binaryPath).size / 10);
    expect(Buffer.from(Bun.zstdDecompressSync(packed)).equals(readFileSync(binaryPath))).toBe(true);
    const sha = new Bun.CryptoHasher("sha256").update(readFileSync(binaryPath)).digest("hex");
    expect(a.uploads[0]!.args).toContain(sha);
  });

  test("a host already on this version gets no copy", async () => {
    const h = sim({ current: NEW, state: { istate: 1, publicKey: KEY_A, agentVersion: NEW, lastReportAt: 5 } });
    const r = await deployHost(context(h), request);
    expect(r.copied).toBe(false);
    expect(h.scripts).not.toContain("upload");
  });

  test("a new version that does not report is rolled back to the previous binary", async () => {
    const h = sim({ broken: new Set([NEW]) });
    const e = await failure(deployHost(context(h), request));
    expect(e.kind).toBe("rolled-back");
    // the agent's own log lines say why it did not report
    expect(e.message).toBe(`rolled back to 0.1.0: agent ${NEW} did not report (no report within 14 s; its log on the host ends: [info] [agent] reporting every 2 s | [warn] [agent] http://127.0.0.1:9399: network)`);
    expect(h.current).toBe("0.1.0");
    expect(h.state.agentVersion).toBe("0.1.0");
    expect(h.scripts.slice(-2)).toEqual(["rollback", "start"]);
  });

  test("a failure after the swap (the agent could not be started) also rolls back", async () => {
    const h = sim({ failOnce: "start" });
    const e = await failure(deployHost(context(h), request));
    expect(e.kind).toBe("rolled-back");
    expect(e.message).toMatch(/^rolled back to 0\.1\.0: unreachable: connection closed by the host while starting the agent/);
    expect(h.current).toBe("0.1.0");
  });

  test("a retry that finds the new binary already swapped in still rolls back to pmon.prev", async () => {
    const h = sim({ current: NEW, previous: "0.1.0", broken: new Set([NEW]) });
    const e = await failure(deployHost(context(h), request));
    expect(e.kind).toBe("rolled-back");
    expect(h.scripts).not.toContain("upload");
    expect(h.current).toBe("0.1.0");
  });

  test("a first install that does not report fails without a rollback", async () => {
    const h = sim({ current: "", broken: new Set([NEW]), state: { istate: 1, publicKey: "", agentVersion: "", lastReportAt: null } });
    const e = await failure(deployHost(context(h), request));
    expect(e.kind).toBe("no-report");
    expect(e.message).toBe("agent did not report: no report within 14 s; its log on the host ends: [info] [agent] reporting every 2 s | [warn] [agent] http://127.0.0.1:9399: network");
    expect(h.scripts).not.toContain("rollback");
  });
});

describe("host keys", () => {
  const recent = 1_000_000 - 5_000;

  test("a host that holds a pmon key and reported recently is refused when the machine reached has another key; nothing changes", async () => {
    const h = sim({ key: KEY_B, state: { istate: 1, publicKey: KEY_A, agentVersion: "0.1.0", lastReportAt: recent } });
    const e = await failure(deployHost(context(h), request));
    expect(e.kind).toBe("rekey-refused");
    expect(e.message).toContain("pmon enroll --rekey h1");
    expect(h.scripts).toEqual(["probe", "key-show"]);
    expect(h.state.publicKey).toBe(KEY_A);
  });

  test("the same with a machine that has no pmon at all", async () => {
    const h = sim({ current: "", key: "", state: { istate: 1, publicKey: KEY_A, agentVersion: "0.1.0", lastReportAt: recent } });
    const e = await failure(deployHost(context(h), request));
    expect(e.kind).toBe("rekey-refused");
    expect(e.message).toContain("has no pmon key");
    expect(h.scripts).toEqual(["probe"]);
  });

  test("--rekey replaces the key; the new public key is stored and the private one never leaves the host", async () => {
    const h = sim({ key: KEY_A, state: { istate: 1, publicKey: KEY_A, agentVersion: "0.1.0", lastReportAt: recent } });
    await deployHost(context(h), { ...request, rekey: true });
    expect(h.key).not.toBe(KEY_A);
    expect(h.state.publicKey).toBe(h.key);
    expect(h.scripts).toContain("key-rekey");
  });

  test("the same key on the machine: deployed, key unchanged", async () => {
    const h = sim({ key: KEY_A, state: { istate: 1, publicKey: KEY_A, agentVersion: "0.1.0", lastReportAt: recent } });
    await deployHost(context(h), request);
    expect(h.state.publicKey).toBe(KEY_A);
    expect(h.scripts).toEqual(["probe", "key-show", "prepare", "upload", "install", "legacy", "key-keep", "config", "start"]);
  });

  test("a host with no pmon key in the store (registered by SQL or the old tool) enrolls as before", async () => {
    const h = sim({ key: "", state: { istate: 1, publicKey: "", agentVersion: "", lastReportAt: recent } });
    await deployHost(context(h), request);
    expect(h.key).toMatch(/^ed25519:/);
    expect(h.state.publicKey).toBe(h.key);
  });

  test("a silent host whose key file was lost gets a new key without --rekey", async () => {
    const h = sim({ key: "", state: { istate: 1, publicKey: KEY_A, agentVersion: "0.1.0", lastReportAt: 1000 } });
    await deployHost(context(h), request);
    expect(h.state.publicKey).toBe(h.key);
    expect(h.key).not.toBe(KEY_A);
  });
});
