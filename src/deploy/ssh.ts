// The system's OpenSSH client, run with argument arrays. Failures become one-line DeployErrors whose kind
// tells the operator what to fix (network, keys, host key, disk).
import type { ResolvedConfig } from "../config/schema.ts";
import { shScript } from "./shquote.ts";

export interface SshTarget {
  host: string;
  user: string;
  port: number;
  /** private key file; empty = ssh's defaults */
  identity: string;
  /** known_hosts file; empty = ssh's default */
  knownHosts: string;
  strictHostKeyChecking: string;
  connectTimeoutS: number;
}

export type DeployErrorKind =
  | "unreachable"
  | "auth"
  | "host-key"
  | "no-space"
  | "rekey-refused"
  | "unsupported"
  | "no-report"
  | "rolled-back"
  | "remote"
  | "store";

/** An expected deployment failure: `message` is one line naming the cause (the host is added by callers). */
export class DeployError extends Error {
  override name = "DeployError";
  constructor(
    readonly kind: DeployErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function sshTarget(host: string, deploy: ResolvedConfig["deploy"], overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    host,
    user: deploy.ssh_user,
    port: deploy.ssh_port,
    identity: deploy.identity,
    knownHosts: deploy.known_hosts,
    strictHostKeyChecking: deploy.strict_host_key_checking,
    connectTimeoutS: deploy.connect_timeout_s,
    ...overrides,
  };
}

/** Options of every ssh call (the port is added by the caller). */
function commonOptions(t: SshTarget): string[] {
  const o = [
    "-o", "BatchMode=yes",
    "-o", `ConnectTimeout=${t.connectTimeoutS}`,
    "-o", `StrictHostKeyChecking=${t.strictHostKeyChecking}`,
    // Detects a dead connection during long copies instead of hanging.
    "-o", "ServerAliveInterval=15",
    "-o", "ServerAliveCountMax=3",
    "-o", "LogLevel=ERROR",
  ];
  if (t.knownHosts) o.push("-o", `UserKnownHostsFile=${t.knownHosts}`);
  if (t.identity) o.push("-i", t.identity, "-o", "IdentitiesOnly=yes");
  return o;
}

function destination(t: SshTarget): string {
  return `${t.user}@${t.host}`;
}

/** argv for running `remoteCommand` (already a quoted command line) on the target. */
export function sshArgv(t: SshTarget, remoteCommand: string): string[] {
  // "--" ends ssh's options, so a host name starting with "-" can never become an option.
  return ["ssh", ...commonOptions(t), "-p", String(t.port), "--", destination(t), remoteCommand];
}

export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** `stdinFile`: a file streamed to stdin instead of `stdin` (the binary on its way to a host) */
export type Runner = (argv: string[], opts: { stdin?: string; stdinFile?: string; timeoutMs: number }) => Promise<RunOutput>;

/** Runs argv with Bun.spawn (never through a shell); a timeout kills it. */
export const spawnRunner: Runner = async (argv, opts) => {
  const p = Bun.spawn(argv, {
    stdin: opts.stdinFile !== undefined ? Bun.file(opts.stdinFile) : opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (p.signalCode === "SIGKILL" && code !== 0) return { code: 255, stdout, stderr: stderr + `\npmon: timed out after ${Math.round(opts.timeoutMs / 1000)} s` };
  return { code, stdout, stderr };
};

/** Turns a failed ssh run into a one-line cause; `step` says what pmon was doing. */
export function classifySshFailure(out: RunOutput, step: string): DeployError {
  const e = out.stderr;
  const lastLine = e.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("@@@")).pop() ?? `exit code ${out.code}`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|host key for .* has changed/i.test(e)) {
    return new DeployError("host-key", "host key changed or not trusted (check known_hosts; pmon never overrides a changed key)");
  }
  if (/Permission denied \(|Too many authentication failures|no mutual signature algorithm/i.test(e)) {
    return new DeployError("auth", "ssh authentication refused (is the deploy key in the host's authorized_keys?)");
  }
  if (/Connection refused/i.test(e)) return new DeployError("unreachable", "unreachable: connection refused (no sshd on that port?)");
  if (/No route to host|Network is unreachable|Host is unreachable/i.test(e)) return new DeployError("unreachable", "unreachable: no route to host");
  if (/Connection timed out|Operation timed out|timed out after|Connection timeout/i.test(e)) return new DeployError("unreachable", "unreachable: connection timed out");
  if (/Could not resolve hostname|Name or service not known|Temporary failure in name resolution/i.test(e)) {
    return new DeployError("unreachable", "unreachable: host name does not resolve");
  }
  if (/No space left on device|Disk quota exceeded/i.test(e)) return new DeployError("no-space", `no space left on the host while ${step}`);
  if (/Connection closed|Connection reset|Broken pipe|kex_exchange_identification/i.test(e) && out.code === 255) {
    return new DeployError("unreachable", `unreachable: connection closed by the host while ${step}`);
  }
  return new DeployError("remote", `${step} failed: ${lastLine}`);
}

/** A remote session: runs fixed scripts with quoted arguments (and files on stdin), failing with DeployError. */
export class Remote {
  constructor(
    readonly target: SshTarget,
    private readonly runner: Runner = spawnRunner,
  ) {}

  /** Runs `script` with "$1".. = args; throws a classified DeployError on a non-zero exit. */
  async script(step: string, script: string, args: readonly string[], opts: { stdin?: string; stdinFile?: string; timeoutMs?: number } = {}): Promise<string> {
    const out = await this.runner(sshArgv(this.target, shScript(script, args)), {
      stdin: opts.stdin,
      stdinFile: opts.stdinFile,
      timeoutMs: opts.timeoutMs ?? (this.target.connectTimeoutS + 120) * 1000,
    });
    if (out.code !== 0) throw classifySshFailure(out, step);
    return out.stdout;
  }
}
