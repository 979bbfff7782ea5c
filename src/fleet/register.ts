// Registering a host straight in the store (no ssh): for hosts whose agent other tools install (marked
// deployed_by_pmon = 0, so pmon never ssh's there) and for tests.
// The host's key pair is made here; the server keeps only the public key, and the private key is
// returned once, for the agent's key file.
import { writeAgentKeyFile } from "../keys/agent-key.ts";
import { newKeyPair } from "../protocol/api.ts";
import { HOST_RE } from "../protocol/report.ts";
import type { Db } from "../store/db.ts";
import { ISTATE, registerHost } from "../store/hosts.ts";

export interface RegisterOptions {
  /** default running: the host reports on its own, the manager does not deploy to it */
  istate?: number;
  /** default false: another tool installs the agent, so upgrades skip it and removal needs no ssh */
  deployedByPmon?: boolean;
}

/** Creates (or re-keys) `rshost` with a fresh key pair; returns the private key (PEM). */
export async function registerHostWithSecret(db: Db, rshost: string, opts: RegisterOptions = {}): Promise<string> {
  if (!HOST_RE.test(rshost)) throw new Error(`not a valid host name or address: ${JSON.stringify(rshost)}`);
  const pair = newKeyPair();
  await registerHost(db, rshost, { secretHash: pair.publicKey, istate: opts.istate ?? ISTATE.running, deployedByPmon: opts.deployedByPmon ?? false });
  return pair.privateKeyPem;
}

/** Writes the agent's key file (0600): the private key and the server reply key(s) it pins. */
export function writeSecretFile(path: string, privateKeyPem: string, serverKeys: readonly string[] = []): void {
  writeAgentKeyFile(path, privateKeyPem, serverKeys);
}
