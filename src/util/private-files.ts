// Directories and files only their owner may read: data dirs 0700, databases, keys and spool 0600.
// Modes are set explicitly because mkdir/open modes are filtered by the umask and leave existing
// paths as they were.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";

/** Creates `dir` (and parents) if needed and makes it 0700. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

/** Creates `path` empty if missing and makes it 0600 (an existing file keeps its content). */
export function privateFile(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, "a", 0o600));
  if ((statSync(path).mode & 0o777) !== 0o600) chmodSync(path, 0o600);
}

/** Makes `path` 0600 if it exists. */
export function tightenIfPresent(path: string): void {
  try {
    if ((statSync(path).mode & 0o777) !== 0o600) chmodSync(path, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
