// The host side of a copy (UPLOAD in remote-scripts.ts), run by the local sh: it unpacks stdin and keeps
// the file only when its sha256 is the expected one, so a damaged copy can never be swapped in.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { UPLOAD, UPLOAD_NAME } from "../../../src/deploy/remote-scripts.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pmon-upload-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const binary = Buffer.from("#!/bin/sh\necho pmon\n".repeat(500));
const sha = new Bun.CryptoHasher("sha256").update(binary).digest("hex");

function upload(codec: string, stdin: Uint8Array, expected: string) {
  return Bun.spawnSync(["sh", "-c", UPLOAD, "upload", dir, codec, expected], { stdin, stdout: "pipe", stderr: "pipe" });
}

test("a gzip stream is unpacked and kept when its sha256 matches", () => {
  const p = upload("gzip", gzipSync(binary), sha);
  expect(p.exitCode).toBe(0);
  expect(readFileSync(join(dir, UPLOAD_NAME)).equals(binary)).toBe(true);
});

test("an uncompressed copy is checked the same way", () => {
  expect(upload("none", binary, sha).exitCode).toBe(0);
  expect(readFileSync(join(dir, UPLOAD_NAME)).equals(binary)).toBe(true);
});

test("a truncated or different copy is deleted with a clear error", () => {
  const cut = upload("none", binary.subarray(0, 1000), sha);
  expect(cut.exitCode).toBe(98);
  expect(cut.stderr.toString()).toContain("the copied binary is damaged");
  expect(existsSync(join(dir, UPLOAD_NAME))).toBe(false);
  writeFileSync(join(dir, "x"), "");
  const other = upload("gzip", gzipSync(Buffer.from("something else")), sha);
  expect(other.exitCode).toBe(98);
  expect(existsSync(join(dir, UPLOAD_NAME))).toBe(false);
});

test("a broken compressed stream fails the copy", () => {
  const packed = gzipSync(binary);
  const p = upload("gzip", packed.subarray(0, packed.length >> 1), sha);
  expect(p.exitCode).not.toBe(0);
});
