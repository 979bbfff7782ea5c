// The binary as it travels to hosts: compressed once per version (zstd where the host can unpack it, else
// gzip, else as it is) and kept on disk, so an upgrade of many hosts compresses once and sends ~40 % of
// the bytes to each. The sha256 is of the uncompressed binary: the host checks it before the swap.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";

export type Codec = "zstd" | "gzip" | "none";

export interface Payload {
  codec: Codec;
  /** the file to send (the binary itself for "none") */
  path: string;
  /** bytes that go over ssh */
  bytes: number;
  /** sha256 (hex) of the uncompressed binary */
  sha256: string;
}

/** The best codec a host can unpack: zstd is ~20 % smaller than gzip for the same binary. */
export function chooseCodec(remote: { zstd: boolean; gzip: boolean }): Codec {
  if (remote.zstd) return "zstd";
  if (remote.gzip) return "gzip";
  return "none";
}

// zstd level 10: a one-off cost of seconds per version for most of level 19's size; gzip -6 is the usual default
const ZSTD_LEVEL = 10;
const GZIP_LEVEL = 6;
const EXTENSION: Record<Codec, string> = { zstd: "zst", gzip: "gz", none: "" };

const inProcess = new Map<string, Promise<Payload>>();

/**
 * The payload of `binaryPath` for `codec`, compressed at most once per binary (in this process, and across
 * runs through the files in `cacheDir`). Concurrent callers share one compression.
 */
export function payloadFor(binaryPath: string, codec: Codec, cacheDir: string): Promise<Payload> {
  const st = statSync(binaryPath);
  const key = `${binaryPath}\0${st.size}\0${st.mtimeMs}\0${codec}`;
  let p = inProcess.get(key);
  if (!p) {
    p = build(binaryPath, codec, cacheDir);
    inProcess.set(key, p);
    p.catch(() => inProcess.delete(key));
  }
  return p;
}

async function build(binaryPath: string, codec: Codec, cacheDir: string): Promise<Payload> {
  const binary = await Bun.file(binaryPath).bytes();
  const sha256 = createHash("sha256").update(binary).digest("hex");
  if (codec === "none") return { codec, path: binaryPath, bytes: binary.length, sha256 };
  const dir = usableDir(cacheDir);
  const name = `pmon-${sha256.slice(0, 32)}.${EXTENSION[codec]}`;
  const path = join(dir, name);
  try {
    return { codec, path, bytes: statSync(path).size, sha256 };
  } catch {
    // not cached yet
  }
  const packed = codec === "zstd" ? await Bun.zstdCompress(binary, { level: ZSTD_LEVEL }) : await promisify(gzip)(binary, { level: GZIP_LEVEL });
  // written under a temporary name and renamed, so a concurrent `pmon enroll` never sends half a file
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, packed, { mode: 0o600 });
  renameSync(tmp, path);
  // only the current version is kept
  for (const f of readdirSync(dir)) if (f.startsWith("pmon-") && f.endsWith(`.${EXTENSION[codec]}`) && f !== name) rmSync(join(dir, f), { force: true });
  return { codec, path, bytes: packed.length, sha256 };
}

/** `dir` when it can be created and written, else a private temporary directory of this process. */
function usableDir(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = join(dir, `.write-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
    return dir;
  } catch {
    return mkdtempSync(join(tmpdir(), "pmon-payload-"));
  }
}
