import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentSetupError, initAgentKey, readAgentKey, writeAgentKeyFile } from "../../../src/keys/agent-key.ts";
import { newKeyPair } from "../../../src/protocol/api.ts";

const dir = mkdtempSync(join(tmpdir(), "pmon-keyfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("--init-key creates a key once (0600) and prints only the public key; --rekey replaces it and keeps server keys", () => {
  const path = join(dir, "sub", "agent.secret");
  const first = initAgentKey(path, { fresh: false });
  expect(first.created).toBe(true);
  expect(first.publicKey).toMatch(/^ed25519:/);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  expect(statSync(join(dir, "sub")).mode & 0o777).toBe(0o700);
  expect(initAgentKey(path, { fresh: false })).toEqual({ publicKey: first.publicKey, created: false });
  const server = newKeyPair().publicKey;
  writeAgentKeyFile(path, readAgentKey(path).privateKeyPem, [server]);
  const again = initAgentKey(path, { fresh: true });
  expect(again.publicKey).not.toBe(first.publicKey);
  expect(readAgentKey(path).serverKeys).toEqual([server]);
  expect(readFileSync(path, "utf8")).not.toContain(again.publicKey);
});

test("an old-style hex secret or a bad server-key line is a setup error naming the file", () => {
  const old = join(dir, "old.secret");
  writeFileSync(old, "ab".repeat(32) + "\n");
  expect(() => readAgentKey(old)).toThrow(AgentSetupError);
  expect(() => readAgentKey(old)).toThrow(/old-style secret/);
  const bad = join(dir, "bad.secret");
  writeFileSync(bad, newKeyPair().privateKeyPem + "server-key ed25519:nope\n");
  expect(() => readAgentKey(bad)).toThrow(/bad\.secret: not an Ed25519 public key/);
  // an old secret is replaced by --init-key without --rekey: it was never a pmon key
  expect(initAgentKey(old, { fresh: false }).created).toBe(true);
});
