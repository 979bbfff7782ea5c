// Deploying one host: probe it, copy the binary (compressed, checked by sha256) when its version differs, write the agent's config and
// secret, start the agent (systemd or pmon's supervisor), and wait for its first report to reach the
// store. A new binary that does not report is rolled back to pmon.prev. Removal undoes all of it.
import { statSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { renderAgentConfig } from "./agent-config.ts";
import { PUBLIC_KEY_RE } from "../protocol/api.ts";
import { takeOverLegacyClient } from "./legacy-client.ts";
import { chooseCodec, payloadFor, type Payload } from "./payload.ts";
import { AGENT_LOG_TAIL, glibcVersion, parseProbe, INIT_KEY, INSTALL, PREPARE, PROBE, REMOVE, ROLLBACK, START_SUPERVISOR, START_SYSTEMD, UPLOAD, WRITE_CONFIG, type ProbeResult } from "./remote-scripts.ts";
import { DeployError, Remote, spawnRunner, type Runner, type SshTarget } from "./ssh.ts";
import { AGENT_UNIT_PATH, checkInstallDir, renderAgentUnit } from "./units.ts";

/** What deploying needs to know about a host from the store. */
export interface HostState {
  istate: number;
  /** the host's stored Ed25519 public key; "" when it has none (new, removed, or enrolled by the old tool) */
  publicKey: string;
  agentVersion: string;
  /** server clock, epoch ms */
  lastReportAt: number | null;
}

/** The store operations a deployment uses (src/fleet/lifecycle.ts implements them over the Db). */
export interface FleetStore {
  getHost(rshost: string): Promise<HostState | undefined>;
  /** stores the host's public key (keeping its istate) */
  setPublicKey(rshost: string, publicKey: string): Promise<void>;
}

export type DeployStep = "connecting" | "checking" | "copying" | "configuring" | "starting" | "waiting for first report" | "rolling back" | "removing";

export interface DeployContext {
  config: ResolvedConfig;
  store: FleetStore;
  log: Logger;
  /** the binary to ship: process.execPath */
  binaryPath: string;
  /** where compressed copies of the binary are kept (default <server.data_dir>/payload) */
  payloadDir?: string;
  /** `pmon --version` of that binary, e.g. "0.1.0 (abc123)" */
  versionLine: string;
  /** VERSION alone, as agents report it */
  version: string;
  /** the servers' reply key(s) the agent pins */
  serverKeys: readonly string[];
  runner?: Runner;
  onStep?: (rshost: string, step: DeployStep, detail?: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface DeployRequest {
  rshost: string;
  target: SshTarget;
  installDir: string;
  /** replace the host's key even when it holds one and reports (pmon enroll --rekey) */
  rekey?: boolean;
}

export interface DeployResult {
  rshost: string;
  /** false when the remote binary already had this version */
  copied: boolean;
  /** bytes of the binary sent over ssh (0 when not copied) and how they were packed */
  bytesSent: number;
  codec?: string;
  /** the version the host ran before, when this deployment replaced it */
  previousVersion?: string;
  systemd: boolean;
  /** ms from start until the first report arrived */
  reportedAfterMs: number;
  /** what was done to the old Python client found on the host, if any */
  legacyTakeover?: string;
}

/** The compiled Bun binary needs glibc 2.17 or newer on x86_64 and arm64 hosts. */
const MIN_GLIBC: [number, number] = [2, 17];
const ARCH_OF: Record<string, string[]> = { x64: ["x86_64", "amd64"], arm64: ["aarch64", "arm64"] };
/** room beyond the binary itself for the upload, config and first logs */
const SPACE_MARGIN = 32 * 1024 * 1024;

/** Why the binary cannot run on a probed host, or null when it can. Pure. */
export function incompatibility(probe: ProbeResult, localArch: string = process.arch): string | null {
  const archs = ARCH_OF[localArch] ?? [localArch];
  if (!archs.includes(probe.arch)) return `binary cannot run there: the host is ${probe.arch || "of unknown architecture"}, the binary is built for ${archs[0]}`;
  const glibc = glibcVersion(probe.libc);
  if (!glibc) return `binary cannot run there: no GNU libc found (${probe.libc || "unknown libc"}); pmon needs glibc >= ${MIN_GLIBC.join(".")}`;
  if (glibc[0] < MIN_GLIBC[0] || (glibc[0] === MIN_GLIBC[0] && glibc[1] < MIN_GLIBC[1])) {
    return `binary cannot run there: glibc ${glibc.join(".")} is older than ${MIN_GLIBC.join(".")}`;
  }
  return null;
}

/** Whether to use systemd on a host, from deploy.use_systemd and what the probe found. */
export function chooseSystemd(setting: string, probe: ProbeResult): boolean {
  if (setting === "yes") return true;
  if (setting === "no") return false;
  return probe.systemd;
}

/** How long a new agent may take to report: two intervals plus its start jitter and a start-up grace. */
export function reportDeadlineMs(config: ResolvedConfig): number {
  return (2 * config.agent.interval_s + config.agent.jitter_s) * 1000 + 10_000;
}

export async function deployHost(ctx: DeployContext, req: DeployRequest): Promise<DeployResult> {
  const now = ctx.now ?? Date.now;
  const step = (s: DeployStep, detail?: string) => ctx.onStep?.(req.rshost, s, detail);
  const installDir = checkInstallDir(req.installDir);
  const remote = new Remote(req.target, ctx.runner ?? spawnRunner);
  const started = now();

  step("connecting");
  const probe = parseProbe(await remote.script("probing the host", PROBE, [installDir]));
  step("checking");
  const why = incompatibility(probe);
  if (why) throw new DeployError("unsupported", why);
  const systemd = chooseSystemd(ctx.config.deploy.use_systemd, probe);

  await refuseSilentRekey(ctx, req, remote, installDir, probe.version !== "", now());

  const needCopy = probe.version !== ctx.versionLine;
  let payload: Payload | undefined;
  if (needCopy) {
    const size = statSync(ctx.binaryPath).size;
    if (Number.isFinite(probe.freeKb) && probe.freeKb * 1024 < size + SPACE_MARGIN) {
      throw new DeployError("no-space", `no space: ${installDir} has ${Math.floor(probe.freeKb / 1024)} MiB free, pmon needs ${Math.ceil((size + SPACE_MARGIN) / 1048576)} MiB`);
    }
    if (!probe.sha256) throw new DeployError("unsupported", "the host has neither sha256sum nor openssl to check the copied binary");
    // compressed once per binary and shared by every host of the run (and kept for the next run)
    payload = await payloadFor(ctx.binaryPath, chooseCodec(probe), ctx.payloadDir ?? join(ctx.config.server.data_dir, "payload"));
    step("copying", `${(payload.bytes / 1e6).toFixed(1)} MB${payload.codec === "none" ? "" : ` (${payload.codec})`}`);
    await remote.script("creating the install dir", PREPARE, [installDir]);
    await remote.script("copying the binary", UPLOAD, [installDir, payload.codec, payload.sha256], { stdinFile: payload.path, timeoutMs: 900_000 });
    await remote.script("installing the binary", INSTALL, [installDir]);
  }
  const sent = { bytesSent: payload?.bytes ?? 0, ...(payload ? { codec: payload.codec } : {}) };

  const host = await ctx.store.getHost(req.rshost);
  // What to go back to if the new agent fails: the binary this deployment just replaced, or, when an
  // earlier attempt swapped the binary and then failed, pmon.prev if the host last reported another version.
  const previous =
    needCopy && probe.version
      ? firstWord(probe.version)
      : !needCopy && probe.hasPrevious && host?.agentVersion && host.agentVersion !== ctx.version
        ? host.agentVersion
        : undefined;

  // Before the agent starts: the old client would report beside it and alert with its server gone.
  const legacyTakeover = (await takeOverLegacyClient(remote, ctx.config.deploy.remove_legacy_dir)) ?? undefined;

  let cause: DeployError;
  try {
    step("configuring");
    await storeHostKey(ctx, req, remote, installDir, host);
    const agentConfig = renderAgentConfig({ config: ctx.config, rshost: req.rshost, installDir, serverKeys: ctx.serverKeys });
    await remote.script("writing the agent config", WRITE_CONFIG, [installDir], { stdin: agentConfig });

    step("starting", systemd ? "systemd" : "supervisor");
    // "Reported" means a report newer than the last one the store had: no clock comparison across machines.
    const before = (await ctx.store.getHost(req.rshost))?.lastReportAt ?? null;
    await startAgent(remote, installDir, systemd);

    step("waiting for first report");
    const reported = await waitForReport(ctx, req.rshost, ctx.version, before, reportDeadlineMs(ctx.config));
    if (reported !== null) return { rshost: req.rshost, copied: needCopy, ...sent, previousVersion: previous, systemd, reportedAfterMs: now() - started, legacyTakeover };
    cause = new DeployError("no-report", `agent ${ctx.version} did not report (no report within ${Math.round(reportDeadlineMs(ctx.config) / 1000)} s${await agentLogTail(remote, installDir, systemd)})`);
  } catch (e) {
    // Any failure after the binary was swapped leaves the host on the new binary: roll it back too.
    if (!(e instanceof DeployError) || !previous) throw e;
    cause = e;
  }
  // A first install has nothing to go back to.
  if (!previous) throw new DeployError("no-report", `agent did not report: ${cause.message.replace(/^agent \S+ did not report \((.*)\)$/, "$1")}`);

  step("rolling back", previous);
  const beforeRollback = (await ctx.store.getHost(req.rshost))?.lastReportAt ?? null;
  try {
    await remote.script("rolling back", ROLLBACK, [installDir]);
    await startAgent(remote, installDir, systemd);
  } catch (e) {
    throw new DeployError(cause.kind, `${cause.message}, and the rollback to ${previous} failed: ${(e as Error).message}`);
  }
  const back = await waitForReport(ctx, req.rshost, previous, beforeRollback, reportDeadlineMs(ctx.config));
  throw new DeployError("rolled-back", `rolled back to ${previous}: ${cause.message}${back ? "" : "; the rolled-back agent has not reported yet either"}`);
}

/** "; its log on the host ends: ... | ..." (the agent's own words for why it could not report), or "". */
async function agentLogTail(remote: Remote, installDir: string, systemd: boolean): Promise<string> {
  try {
    const lines = (await remote.script("reading the agent's log", AGENT_LOG_TAIL, [installDir, systemd ? "yes" : "no"], { timeoutMs: 30_000 }))
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-3);
    return lines.length ? `; its log on the host ends: ${lines.join(" | ")}` : "; its log on the host is empty";
  } catch {
    return "";
  }
}

const keyIn = (out: string) => out.split("\n").map((l) => l.trim()).find((l) => PUBLIC_KEY_RE.test(l)) ?? "";

/**
 * Before anything changes: a host that holds a pmon key and reported recently is deployed only when
 * the machine reached holds that same key, unless `rekey`. Otherwise the name may point at another
 * machine, and a new key would silently drop the running agent's reports.
 */
async function refuseSilentRekey(ctx: DeployContext, req: DeployRequest, remote: Remote, installDir: string, hasBinary: boolean, now: number): Promise<void> {
  if (req.rekey) return;
  const host = await ctx.store.getHost(req.rshost);
  if (!host?.publicKey || host.lastReportAt === null || now - host.lastReportAt >= ctx.config.alerts.silent_after_s * 1000) return;
  const found = hasBinary ? keyIn(await remote.script("reading the host's key", INIT_KEY, [installDir, "show"])) : "";
  if (found === host.publicKey) return;
  throw new DeployError(
    "rekey-refused",
    `${req.rshost} holds a pmon key and reported ${Math.round((now - host.lastReportAt) / 1000)} s ago, but the machine reached ${found ? "has another key" : "has no pmon key"} (another machine, or its key file was lost); run pmon enroll --rekey ${req.rshost} to replace the key`,
  );
}

/** Has the host make (or keep, or with `rekey` replace) its key pair, and stores the public key. */
async function storeHostKey(ctx: DeployContext, req: DeployRequest, remote: Remote, installDir: string, host: HostState | undefined): Promise<void> {
  const out = await remote.script("creating the host's key", INIT_KEY, [installDir, req.rekey ? "rekey" : "keep"]);
  const publicKey = keyIn(out);
  if (!publicKey) throw new DeployError("remote", `the agent printed no public key: ${JSON.stringify(out.slice(0, 200))}`);
  if (host?.publicKey !== publicKey) await ctx.store.setPublicKey(req.rshost, publicKey);
}

function firstWord(s: string): string {
  return s.trim().split(/\s+/)[0] ?? s;
}

async function startAgent(remote: Remote, installDir: string, systemd: boolean): Promise<void> {
  if (systemd) await remote.script("starting the agent (systemd)", START_SYSTEMD, [installDir, AGENT_UNIT_PATH], { stdin: renderAgentUnit(installDir) });
  else await remote.script("starting the agent (supervisor)", START_SUPERVISOR, [installDir]);
}

/** Polls the store until the host has a report of `version` newer than `after`; returns its time or null. */
async function waitForReport(ctx: DeployContext, rshost: string, version: string, after: number | null, timeoutMs: number): Promise<number | null> {
  const now = ctx.now ?? Date.now;
  const sleep = ctx.sleep ?? Bun.sleep;
  const end = now() + timeoutMs;
  for (;;) {
    const h = await ctx.store.getHost(rshost);
    if (h?.lastReportAt != null && (after === null || h.lastReportAt > after) && h.agentVersion === version) return h.lastReportAt;
    if (now() >= end) return null;
    await sleep(Math.min(500, Math.max(50, end - now())));
  }
}

/** Stops and disables the agent and deletes pmon's files on the host. */
export async function undeployHost(ctx: Pick<DeployContext, "runner" | "onStep">, req: DeployRequest): Promise<void> {
  const installDir = checkInstallDir(req.installDir);
  ctx.onStep?.(req.rshost, "removing");
  const remote = new Remote(req.target, ctx.runner ?? spawnRunner);
  await remote.script("removing the agent", REMOVE, [installDir, AGENT_UNIT_PATH]);
}
