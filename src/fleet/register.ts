// Registering a host straight in the store (no ssh): for hosts whose agent other tools install (marked
// deployed_by_pmon = 0, so pmon never ssh's there) and for tests.
// The server keeps only sha256(secret); the plaintext is returned once, for the agent's secret file.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { hashSecret, newSecret } from "../protocol/api.ts";
import { HOST_RE } from "../protocol/report.ts";
import type { Db } from "../store/db.ts";
import { ISTATE, registerHost } from "../store/hosts.ts";

export interface RegisterOptions {
  /** default running: the host reports on its own, the manager does not deploy to it */
  istate?: number;
  /** default false: another tool installs the agent, so upgrades skip it and removal needs no ssh */
  deployedByPmon?: boolean;
}

/** Creates (or re-keys) `rshost` with a fresh secret and returns that secret. */
export async function registerHostWithSecret(db: Db, rshost: string, opts: RegisterOptions = {}): Promise<string> {
  if (!HOST_RE.test(rshost)) throw new Error(`not a valid host name or address: ${JSON.stringify(rshost)}`);
  const secret = newSecret();
  await registerHost(db, rshost, { secretHash: hashSecret(secret), istate: opts.istate ?? ISTATE.running, deployedByPmon: opts.deployedByPmon ?? false });
  return secret;
}

/** Writes a secret file readable by its owner only (0600), replacing any previous one. */
export function writeSecretFile(path: string, secret: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, secret + "\n", { mode: 0o600 });
  chmodSync(path, 0o600);
}
