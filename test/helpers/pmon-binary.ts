// Runs the compiled binary as a user would type it: `pmon <argv>`, with this machine's PMON_*
// variables removed, and returns its exit code and output.
import { requireBinary } from "./binary.ts";

export interface BinaryResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PMON_") && v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export async function pmon(argv: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<BinaryResult> {
  const p = Bun.spawn([requireBinary(), ...argv], { env: cleanEnv(opts.env), cwd: opts.cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}
