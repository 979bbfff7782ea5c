// Runs `pmon <argv>` in this process through runCommand (what the binary's main calls) and captures
// what it writes to stdout and stderr, its exit code, with PMON_* variables of this machine removed.
import { runCommand } from "../../src/cli/run.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function pmonInProcess(argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const savedEnv = { ...process.env };
  const savedOut = process.stdout.write;
  const savedErr = process.stderr.write;
  for (const k of Object.keys(process.env)) if (k.startsWith("PMON_")) delete process.env[k];
  Object.assign(process.env, { NO_COLOR: "1", TZ: "UTC", ...env });
  const capture = (into: string[]) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      into.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
      const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      done?.();
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    const code = await runCommand(argv);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.stdout.write = savedOut;
    process.stderr.write = savedErr;
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
  }
}
