// Pure parts of the fleet code: quoting, ssh argv, failure classification, probes, compatibility,
// agent config, units, retry and rollout arithmetic.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import { newKeyPair } from "../../../src/protocol/api.ts";
import { agentServers, renderAgentConfig } from "../../../src/deploy/agent-config.ts";
import { chooseSystemd, incompatibility, reportDeadlineMs } from "../../../src/deploy/deploy.ts";
import { chooseCodec } from "../../../src/deploy/payload.ts";
import { retryDelayMs } from "../../../src/fleet/lifecycle.ts";
import { mapBounded } from "../../../src/util/parallel.ts";
import { glibcVersion, parseProbe } from "../../../src/deploy/remote-scripts.ts";
import { shCommand, shQuote, shScript } from "../../../src/deploy/shquote.ts";
import { classifySshFailure, sshArgv, sshTarget } from "../../../src/deploy/ssh.ts";
import { checkInstallDir, renderAgentUnit, serverUnitText } from "../../../src/deploy/units.ts";
import { rolloutShouldStop } from "../../../src/fleet/manager.ts";
import { parse } from "smol-toml";

const HOSTILE = [
  "",
  "plain",
  "it's",
  "'",
  "''",
  "a b",
  "$(touch /tmp/pwned)",
  "`id`",
  "x; rm -rf /",
  "a\nb",
  "\\",
  '"double"',
  "$HOME ${PATH} $1",
  "*",
  "-n",
  "--",
  "' ; echo injected ; '",
  "tab\there",
  "ünïcødé",
];

/** What `sh -c <line>` sees as its arguments: each one printed NUL-terminated. */
function shellArgs(line: string): string[] {
  const r = Bun.spawnSync(["sh", "-c", `set -- ${line}; for a in "$@"; do printf '%s\\0' "$a"; done`]);
  expect(r.exitCode).toBe(0);
  const out = r.stdout.toString();
  return out === "" ? [] : out.split("\0").slice(0, -1);
}

describe("sh quoting", () => {
  test("every hostile string survives a real sh as exactly one argument, unexpanded", () => {
    for (const s of HOSTILE) {
      expect(shellArgs(shQuote(s))).toEqual([s]);
    }
    expect(shellArgs(shCommand(HOSTILE))).toEqual(HOSTILE);
  });

  test("scripts get their input only as positional parameters", () => {
    const line = shScript('printf "%s|" "$@"', HOSTILE);
    const r = Bun.spawnSync(["sh", "-c", line]);
    expect(r.stdout.toString()).toBe(HOSTILE.map((s) => s + "|").join(""));
    expect(existsSync("/tmp/pwned")).toBe(false);
  });

  test("NUL bytes are refused", () => {
    expect(() => shQuote("a\0b")).toThrow(/NUL/);
  });
});

describe("ssh and scp argv", () => {
  const config = loadConfig(undefined, { env: {} });
  const t = sshTarget("10.0.0.5", config.deploy, { identity: "/keys/id", knownHosts: "/kh", port: 2222, user: "ops" });

  test("batch mode, timeouts, host key policy and known_hosts come from [deploy]", () => {
    const argv = sshArgv(t, "true");
    expect(argv[0]).toBe("ssh");
    const opts = argv.join(" ");
    expect(opts).toContain("BatchMode=yes");
    expect(opts).toContain(`ConnectTimeout=${config.deploy.connect_timeout_s}`);
    expect(opts).toContain("StrictHostKeyChecking=accept-new");
    expect(opts).toContain("UserKnownHostsFile=/kh");
    expect(argv.slice(argv.indexOf("-i"), argv.indexOf("-i") + 2)).toEqual(["-i", "/keys/id"]);
    expect(argv.slice(argv.indexOf("-p"), argv.indexOf("-p") + 2)).toEqual(["-p", "2222"]);
    // options end before the destination, so a host can never be read as an option
    expect(argv.slice(-3)).toEqual(["--", "ops@10.0.0.5", "true"]);
  });

});

describe("ssh failures become one-line causes", () => {
  const cases: [string, string, RegExp][] = [
    ["ssh: connect to host 10.200.0.1 port 22: Connection refused", "unreachable", /connection refused/],
    ["ssh: connect to host 10.9.9.9 port 22: No route to host", "unreachable", /no route/],
    ["ssh: connect to host 10.9.9.9 port 22: Connection timed out", "unreachable", /timed out/],
    ["ssh: Could not resolve hostname nope: Name or service not known", "unreachable", /does not resolve/],
    ["root@10.200.0.16: Permission denied (publickey,password).", "auth", /authentication refused/],
    ["@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@@@@\nHost key verification failed.", "host-key", /host key changed/],
    ["scp: write remote \"/opt/pmon/.pmon.upload\": No space left on device", "no-space", /no space/],
    ["mv: cannot move: Read-only file system", "remote", /installing failed: mv: cannot move: Read-only file system/],
  ];
  for (const [stderr, kind, message] of cases) {
    test(`${kind}: ${stderr.split("\n").pop()}`, () => {
      const e = classifySshFailure({ code: 255, stdout: "", stderr }, "installing");
      expect(e.kind).toBe(kind as never);
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain("\n");
    });
  }
});

describe("host probe", () => {
  const probe = parseProbe("arch=x86_64\nlibc=glibc 2.36\nsystemd=no\nversion=0.1.0 (abc)\nfree_kb=1048576\nsecret=yes\nprev=no\nzstd=no\ngzip=yes\nsha256=yes\n");

  test("parses the probe script's key=value output", () => {
    expect(probe).toEqual({ arch: "x86_64", libc: "glibc 2.36", systemd: false, version: "0.1.0 (abc)", freeKb: 1048576, hasSecret: true, hasPrevious: false, zstd: false, gzip: true, sha256: true });
  });

  test("the binary travels as zstd where the host has it, else gzip, else as it is", () => {
    expect(chooseCodec({ zstd: true, gzip: true })).toBe("zstd");
    expect(chooseCodec({ zstd: false, gzip: true })).toBe("gzip");
    expect(chooseCodec({ zstd: false, gzip: false })).toBe("none");
  });

  test("glibc versions from getconf and from ldd", () => {
    expect(glibcVersion("glibc 2.36")).toEqual([2, 36]);
    expect(glibcVersion("ldd (GNU libc) 2.17")).toEqual([2, 17]);
    expect(glibcVersion("ldd (Debian GLIBC 2.36-9+deb12u4) 2.36")).toEqual([2, 36]);
    expect(glibcVersion("musl libc (x86_64)")).toBeNull();
  });

  test("the binary runs on x86_64 with glibc >= 2.17 only", () => {
    expect(incompatibility(probe, "x64")).toBeNull();
    expect(incompatibility({ ...probe, libc: "ldd (GNU libc) 2.17" }, "x64")).toBeNull();
    expect(incompatibility({ ...probe, libc: "ldd (GNU libc) 2.12" }, "x64")).toMatch(/glibc 2.12 is older than 2.17/);
    expect(incompatibility({ ...probe, arch: "aarch64" }, "x64")).toMatch(/binary cannot run there: the host is aarch64/);
    expect(incompatibility({ ...probe, libc: "musl libc (x86_64)" }, "x64")).toMatch(/no GNU libc/);
  });

  test("systemd is used when the host runs it, unless deploy.use_systemd says otherwise", () => {
    expect(chooseSystemd("auto", { ...probe, systemd: true })).toBe(true);
    expect(chooseSystemd("auto", probe)).toBe(false);
    expect(chooseSystemd("no", { ...probe, systemd: true })).toBe(false);
    expect(chooseSystemd("yes", probe)).toBe(true);
  });
});

describe("agent config", () => {
  test("carries servers, host id, secret file, interval and thresholds, never [server]; no alert channels for a host not named a witness", () => {
    const dir = mkdtempSync(join(tmpdir(), "pmon-fleet-"));
    const file = join(dir, "server.toml");
    writeFileSync(
      file,
      `[agent]\ninterval_s = 7\n[thresholds]\nprocess_cpu_pct = 150\n[server]\nstorage = "mysql://pmon:topsecret@db:3306/pmon"\nurl = "http://10.0.0.1:9300"\n` +
        `[[alerts.channels]]\ntype = "webhook"\nurl = "https://hooks.example/abc"\n`,
    );
    const config = loadConfig(file, { env: {} });
    const serverKey = newKeyPair().publicKey;
    const text = renderAgentConfig({ config, rshost: "10.0.0.7", installDir: "/opt/pmon", serverKeys: [serverKey] });
    expect(text).not.toContain("topsecret");
    expect(text).not.toContain("hooks.example");
    const doc = parse(text) as Record<string, Record<string, unknown>>;
    expect(Object.keys(doc).sort()).toEqual(["agent", "alerts", "log", "thresholds"]);
    expect(doc.alerts).toEqual({ language: "zh", server_down_rounds: 3 });
    expect(doc.agent!.host).toBe("10.0.0.7");
    // the agent pins the servers' reply key
    expect(doc.agent!.server_keys).toEqual([serverKey]);
    expect(doc.agent!.servers).toEqual(["http://10.0.0.1:9300"]);
    expect(doc.agent!.secret_file).toBe("/opt/pmon/agent.secret");
    expect(doc.agent!.data_dir).toBe("/opt/pmon/data");
    expect(doc.agent!.interval_s).toBe(7);
    expect(doc.thresholds!.process_cpu_pct).toBe(150);
    // the agent can load what it is given
    writeFileSync(join(dir, "agent.toml"), text);
    expect(loadConfig(join(dir, "agent.toml"), { env: {} }).agent.host).toBe("10.0.0.7");
  });

  test("a host named in alerts.server_down_witnesses gets the channels, the others do not", () => {
    const dir = mkdtempSync(join(tmpdir(), "pmon-fleet-"));
    const file = join(dir, "server.toml");
    writeFileSync(file, `[alerts]\nserver_down_witnesses = ["10.0.0.7"]\nlanguage = "en"\n[[alerts.channels]]\ntype = "dingtalk"\nurl = "https://hooks.example/abc"\nsecret = "SECxyz"\n`);
    const config = loadConfig(file, { env: {} });
    const witness = renderAgentConfig({ config, rshost: "10.0.0.7", installDir: "/opt/pmon", serverKeys: [] });
    const other = renderAgentConfig({ config, rshost: "10.0.0.8", installDir: "/opt/pmon", serverKeys: [] });
    expect(witness).toContain("hooks.example");
    expect(other).not.toContain("hooks.example");
    expect(other).not.toContain("SECxyz");
    writeFileSync(join(dir, "agent.toml"), witness);
    const loaded = loadConfig(join(dir, "agent.toml"), { env: {} });
    expect(loaded.alerts.channels).toEqual([{ type: "dingtalk", url: "https://hooks.example/abc", secret: "SECxyz" }]);
    expect(loaded.alerts.language).toBe("en");
  });

  test("deploy.servers wins over server.url", () => {
    const config = loadConfig(undefined, { env: {}, overrides: { "deploy.servers": ["http://a:1", "http://b:2"] } });
    expect(agentServers(config)).toEqual(["http://a:1", "http://b:2"]);
  });

  test("the report deadline is two intervals plus jitter and a start-up grace", () => {
    const config = loadConfig(undefined, { env: {}, overrides: { "agent.interval_s": 2, "agent.jitter_s": 0 } });
    expect(reportDeadlineMs(config)).toBe(14_000);
  });
});

describe("systemd units", () => {
  test("the agent unit is rendered with the install dir and restarts always", () => {
    const unit = renderAgentUnit("/srv/pmon");
    expect(unit).toContain("ExecStart=/srv/pmon/pmon agent --config /srv/pmon/pmon.toml");
    expect(unit).toContain("Restart=always");
    expect(unit).toContain("WantedBy=multi-user.target");
    expect(unit).not.toContain("@INSTALL_DIR@");
    expect(serverUnitText()).toContain("ExecStart=/usr/local/bin/pmon server --config /etc/pmon/pmon.toml");
    expect(serverUnitText()).toContain("Restart=always");
  });

  test("install dirs that could break out of the unit or a path are refused", () => {
    for (const bad of ["opt/pmon", "/opt/pm on", "/opt/$(x)", "/opt/../etc", "/opt/pmon\nExecStartPre=/bin/evil", "/", ""]) {
      expect(() => checkInstallDir(bad)).toThrow(/install dir must be/);
    }
    expect(checkInstallDir("/opt/pmon-2.x")).toBe("/opt/pmon-2.x");
  });

  // make test-deps installs systemd (for systemd-analyze) where it is missing
  test("both units pass systemd-analyze verify", () => {
    const analyze = Bun.which("systemd-analyze");
    expect(analyze).not.toBeNull();
    const dir = mkdtempSync(join(tmpdir(), "pmon-units-"));
    // verify checks that ExecStart binaries exist: point them at a real executable in a temp tree
    const fakeDir = join(dir, "opt");
    Bun.spawnSync(["mkdir", "-p", fakeDir]);
    Bun.spawnSync(["cp", "/bin/true", join(fakeDir, "pmon")]);
    const agent = join(dir, "pmon-agent.service");
    writeFileSync(agent, renderAgentUnit(fakeDir));
    const server = join(dir, "pmon-server.service");
    writeFileSync(server, serverUnitText().replaceAll("/usr/local/bin/pmon", join(fakeDir, "pmon")));
    for (const unit of [agent, server]) {
      const r = Bun.spawnSync([analyze!, "verify", unit], { env: { ...process.env, SYSTEMD_LOG_LEVEL: "warning" } });
      const out = r.stderr.toString() + r.stdout.toString();
      // Lines about the host's own units (not ours) can appear in containers; ours must be clean.
      const ours = out.split("\n").filter((l) => l.includes("pmon-"));
      expect({ unit, ours }).toEqual({ unit, ours: [] });
    }
    expect(readFileSync(agent, "utf8")).toContain(`ExecStart=${fakeDir}/pmon agent`);
  });
});

describe("retries and rollouts", () => {
  test("a failing deployment backs off exponentially, capped at an hour", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 30_000))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelayMs(30, 30_000)).toBe(3_600_000);
  });

  test("a rollout stops when more than rollout_max_failed_pct of its hosts failed", () => {
    const hosts = new Set(["a", "b", "c", "d", "e"]);
    expect(rolloutShouldStop({ hosts, failed: new Set() }, 20)).toBe(false);
    expect(rolloutShouldStop({ hosts, failed: new Set(["a"]) }, 20)).toBe(false); // exactly 20 %
    expect(rolloutShouldStop({ hosts, failed: new Set(["a", "b"]) }, 20)).toBe(true);
    expect(rolloutShouldStop({ hosts, failed: new Set(["a"]) }, 0)).toBe(true);
    expect(rolloutShouldStop({ hosts: new Set(), failed: new Set() }, 0)).toBe(false);
  });

  test("mapBounded never runs more than the limit at once and keeps the order", async () => {
    let running = 0;
    let peak = 0;
    const out = await mapBounded([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await Bun.sleep(n * 3);
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0, 60]);
    expect(peak).toBe(3);
  });
});
