// The fleet reply key: one Ed25519 private key shared by every server (copied by the operator, see
// docs/security.md), used to sign replies to reports. Agents pin its public key at enroll and act on
// a reply only when it verifies. It lives in a file (0600), never in the database, so a database dump
// cannot be used to send agents replies they would trust.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { dirname, join } from "node:path";
import type { ResolvedConfig } from "../config/schema.ts";
import { newKeyPair, privateKeyOf, publicKeyOfPem } from "../protocol/api.ts";

export interface ReplyKey {
  path: string;
  privateKey: KeyObject;
  /** `ed25519:<base64>`: what agents pin (agent.server_keys) */
  publicKey: string;
  created: boolean;
}

/** server.reply_key_file, else <data_dir>/reply.key. */
export function replyKeyPath(server: Pick<ResolvedConfig["server"], "reply_key_file" | "data_dir">): string {
  return server.reply_key_file || join(server.data_dir, "reply.key");
}

/**
 * Reads the reply key, creating it (0600, in a 0700 directory) when `create` is set and it does not
 * exist. Throws a one-line Error when the file is unreadable, not a key, or readable by others.
 */
export function loadReplyKey(path: string, opts: { create: boolean }): ReplyKey {
  let created = false;
  if (!existsSync(path)) {
    if (!opts.create) throw new Error(`reply key ${path} not found: start a pmon server once to create it, or copy it from another server (docs/security.md)`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, newKeyPair().privateKeyPem, { mode: 0o600, flag: "wx" });
      created = true;
    } catch (e) {
      // another process (a second server, an enroll) created it a moment ago: use theirs
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const pem = readFileSync(path, "utf8");
  try {
    return { path, privateKey: privateKeyOf(pem), publicKey: publicKeyOfPem(pem), created };
  } catch (e) {
    throw new Error(`reply key ${path}: ${(e as Error).message}`);
  }
}
