// Errors of the /proc layer: a parse failure names the file and why; OS errors pass through so callers
// can tell "the process went away" (isGone) from "we may not read it" (isDenied).

export class ProcParseError extends Error {
  override name = "ProcParseError";
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

function codeOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
}

/** The process (or file) vanished between listing and reading: skip it, it is not an error. */
export function isGone(e: unknown): boolean {
  const c = codeOf(e);
  return c === "ENOENT" || c === "ESRCH";
}

/** The kernel refused the read (e.g. /proc/PID/io of another user's process without CAP_SYS_PTRACE). */
export function isDenied(e: unknown): boolean {
  const c = codeOf(e);
  return c === "EACCES" || c === "EPERM";
}
