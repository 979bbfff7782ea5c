// The long-running agent runs without JavaScriptCore's optimizing DFG tier. Its time is the kernel's
// (/proc reads, sock_diag); what the DFG would speed up is a few ms of JavaScript per round, while its
// compiler's code and data add 6-7 MB to the agent's peak RSS once the loop tiers up (3,000 processes,
// the same binary: VmHWM 56.8-57.1 MB without it, 63.5-63.6 MB with it, the same CPU per report).
// JavaScriptCore reads its options once, from the environment, before any JavaScript runs, so the
// agent sets the option and execs its own binary again: same pid, same arguments, same descriptors.
import { ptr } from "bun:ffi";
import { readFileSync } from "node:fs";
import { errno, getLibc } from "./libc.ts";

export const JIT_OPTION = "BUN_JSC_useDFGJIT";

/**
 * Execs this process's binary again with `JIT_OPTION=0` unless the option is already set (by that exec,
 * or by an operator who wants the default). Returns only when it did not exec, with the reason.
 */
export function execSelfWithAgentJit(): string | undefined {
  if (process.env[JIT_OPTION] !== undefined) return undefined;
  try {
    // the arguments exactly as this process got them, each already NUL-terminated
    const cmdline = readFileSync("/proc/self/cmdline");
    const argv = new BigUint64Array(cmdline.filter((b) => b === 0).length + 1); // ends with NULL
    for (let i = 0, start = 0; start < cmdline.length; i++, start = cmdline.indexOf(0, start) + 1) argv[i] = BigInt(ptr(cmdline, start));
    const libc = getLibc();
    // held in variables, so no buffer can be collected while libc reads it
    const [name, value, path] = [JIT_OPTION, "0", process.execPath].map((s) => Buffer.from(s + "\0", "utf8")) as [Buffer, Buffer, Buffer];
    if (libc.setenv(ptr(name), ptr(value), 1) !== 0) return `setenv failed (errno ${errno()})`;
    // by its path, not /proc/self/exe, which would name the process "exe"
    libc.execv(ptr(path), ptr(argv));
    return `exec of ${process.execPath} failed (errno ${errno()})`;
  } catch (e) {
    return (e as Error).message;
  }
}
