// The compiled binary under test: `make test` builds dist/pmon first; PMON_BIN points elsewhere.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
export const PMON_BIN = resolve(process.env.PMON_BIN ?? join(ROOT, "dist/pmon"));

export function requireBinary(): string {
  if (!existsSync(PMON_BIN)) throw new Error(`${PMON_BIN} is missing: run 'make build' first (or set PMON_BIN)`);
  return PMON_BIN;
}
