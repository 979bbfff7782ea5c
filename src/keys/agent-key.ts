// The agent's key file: this host's Ed25519 private key (PEM), optionally followed by
// `server-key ed25519:...` lines naming the servers' reply key(s) it trusts. Enroll creates the
// private key on the host itself (`pmon agent --init-key`), or, for --no-deploy, writes the whole file
// to --secret-out; the server only ever learns the public key.
import { existsSync, readFileSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import { newKeyPair, parsePublicKey, privateKeyOf, publicKeyOfPem } from "../protocol/api.ts";
import { privateDir, privateFile } from "../util/private-files.ts";
import { writeFileSync } from "node:fs";

/** A problem the operator must fix before the agent can run (missing key, no servers). */
export class AgentSetupError extends Error {
  override name = "AgentSetupError";
}

export interface AgentKey {
  privateKeyPem: string;
  /** `ed25519:...` of this host (what the server stores) */
  publicKey: string;
  /** reply keys listed in the file itself */
  serverKeys: string[];
}

const SERVER_KEY_LINE = /^server-key\s+(\S+)\s*$/;

export function parseAgentKey(text: string, path: string): AgentKey {
  const pem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(text)?.[0];
  if (!pem) throw new AgentSetupError(`${path} holds no private key (an old-style secret?): enroll this host again (pmon enroll HOST)`);
  let publicKey: string;
  try {
    publicKey = publicKeyOfPem(pem + "\n");
  } catch (e) {
    throw new AgentSetupError(`${path}: ${(e as Error).message}`);
  }
  const serverKeys: string[] = [];
  for (const line of text.slice(text.indexOf(pem) + pem.length).split("\n")) {
    const m = SERVER_KEY_LINE.exec(line.trim());
    if (!m) continue;
    try {
      parsePublicKey(m[1]!);
    } catch (e) {
      throw new AgentSetupError(`${path}: ${(e as Error).message}`);
    }
    serverKeys.push(m[1]!);
  }
  return { privateKeyPem: pem + "\n", publicKey, serverKeys };
}

export function readAgentKey(path: string): AgentKey {
  if (!existsSync(path)) throw new AgentSetupError(`key file ${path} not found: enroll this host first (pmon enroll HOST, or --no-deploy --secret-out ${path})`);
  return parseAgentKey(readFileSync(path, "utf8"), path);
}

export function renderAgentKey(privateKeyPem: string, serverKeys: readonly string[]): string {
  return privateKeyPem.trimEnd() + "\n" + serverKeys.map((k) => `server-key ${k}\n`).join("");
}

/** Writes the key file (0600, directory 0700) in one rename, so a crash never leaves half a key. */
export function writeAgentKeyFile(path: string, privateKeyPem: string, serverKeys: readonly string[] = []): void {
  privateDir(dirname(path));
  const tmp = `${path}.tmp`;
  privateFile(tmp);
  writeFileSync(tmp, renderAgentKey(privateKeyPem, serverKeys), { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * `pmon agent --init-key`: makes sure this host has a key and returns its public key. An existing key
 * is kept unless `fresh` (a deliberate re-key); the file's server-key lines are kept either way.
 */
export function initAgentKey(path: string, opts: { fresh: boolean }): { publicKey: string; created: boolean } {
  if (existsSync(path) && !opts.fresh) {
    try {
      return { publicKey: readAgentKey(path).publicKey, created: false };
    } catch {
      // an old-style secret or a damaged file: replaced below
    }
  }
  let serverKeys: string[] = [];
  try {
    if (existsSync(path)) serverKeys = readAgentKey(path).serverKeys;
  } catch {}
  const pair = newKeyPair();
  privateKeyOf(pair.privateKeyPem);
  writeAgentKeyFile(path, pair.privateKeyPem, serverKeys);
  return { publicKey: pair.publicKey, created: true };
}
