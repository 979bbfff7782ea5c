// The reply key of an in-process test server (created in its data dir, as `pmon server` does), as the
// pinned keys an agent's transport needs.
import { createPublicKey, type KeyObject } from "node:crypto";
import { join } from "node:path";
import { loadReplyKey } from "../../src/keys/reply-key.ts";

export function serverKeysOf(dataDir: string): KeyObject[] {
  return [createPublicKey(loadReplyKey(join(dataDir, "reply.key"), { create: true }).privateKey)];
}
