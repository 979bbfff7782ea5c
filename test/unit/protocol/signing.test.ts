import { expect, test } from "bun:test";
import { createPublicKey } from "node:crypto";
import { newKeyPair, parsePublicKey, privateKeyOf, publicKeyOfPem, signReply, signReport, verifyReply, verifyReport } from "../../../src/protocol/api.ts";

const body = new TextEncoder().encode('{"a":1}');

test("a report signature verifies with the host's public key only, and covers host, time and body", () => {
  const a = newKeyPair();
  const b = newKeyPair();
  expect(publicKeyOfPem(a.privateKeyPem)).toBe(a.publicKey);
  const sig = signReport(a.privateKeyPem, "h1", 1000, body);
  const pub = parsePublicKey(a.publicKey);
  expect(verifyReport(pub, "h1", 1000, body, sig)).toBe(true);
  expect(verifyReport(parsePublicKey(b.publicKey), "h1", 1000, body, sig)).toBe(false);
  expect(verifyReport(pub, "h2", 1000, body, sig)).toBe(false);
  expect(verifyReport(pub, "h1", 1001, body, sig)).toBe(false);
  expect(verifyReport(pub, "h1", 1000, new TextEncoder().encode('{"a":2}'), sig)).toBe(false);
  expect(verifyReport(pub, "h1", 1000, body, "00")).toBe(false);
});

test("a reply signature is bound to the request's signature and the status", () => {
  const k = newKeyPair();
  const pins = [createPublicKey(privateKeyOf(k.privateKeyPem))];
  const req = "ab".repeat(64);
  const sig = signReply(privateKeyOf(k.privateKeyPem), req, 200, body);
  expect(verifyReply(pins, req, 200, body, sig)).toBe(true);
  expect(verifyReply(pins, "cd".repeat(64), 200, body, sig)).toBe(false);
  expect(verifyReply(pins, req, 403, body, sig)).toBe(false);
  expect(verifyReply(pins, req, 200, body, null)).toBe(false);
  expect(verifyReply([parsePublicKey(newKeyPair().publicKey)], req, 200, body, sig)).toBe(false);
});

test("public keys that are not ed25519:<base64 of 32 bytes> are refused with a message", () => {
  expect(() => parsePublicKey("ed25519:abc")).toThrow(/not an Ed25519 public key/);
  expect(() => parsePublicKey("0".repeat(64))).toThrow(/not an Ed25519 public key/);
  expect(() => privateKeyOf("not a key")).toThrow(/not a PEM private key/);
});
