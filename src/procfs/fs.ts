// A /proc (or /sys) tree under a root path. Tests point it at fixture trees and may inject readText to
// simulate EACCES, which root would otherwise ignore.
import { readdirSync, readlinkSync, statSync } from "node:fs";
import { readProcBytes, readProcText, type ReadBytes } from "./read.ts";

const DEFAULT_PROC_ROOT = "/proc";
export interface ProcFs {
  readonly root: string;
  /** whole file as latin1 text; `path` is absolute (already joined under root); see readProcText for singleRecord */
  readText(path: string, singleRecord?: boolean): string;
  /** the same as bytes in a shared buffer, valid until the next read (the per-pid hot path: no allocation) */
  readBytes(path: string, singleRecord?: boolean): ReadBytes;
  readLink(path: string): string;
  listDir(path: string): string[];
  /** owner uid of a path: the owner of /proc/PID is the process's effective uid */
  ownerUid(path: string): number;
}

export interface ProcFsOverrides {
  readText?: (path: string, singleRecord?: boolean) => string;
}

export function createProcFs(root: string = DEFAULT_PROC_ROOT, overrides: ProcFsOverrides = {}): ProcFs {
  const readText = overrides.readText;
  return {
    root: root.length > 1 && root.endsWith("/") ? root.slice(0, -1) : root,
    readText: readText ?? readProcText,
    readBytes: readText ? (p, single) => textAsBytes(readText(p, single)) : readProcBytes,
    readLink: (p) => readlinkSync(p),
    listDir: (p) => readdirSync(p),
    ownerUid: (p) => statSync(p).uid,
  };
}

/** Numeric entries of the root: one per process. */
export function listPids(fs: ProcFs): number[] {
  const pids: number[] = [];
  for (const name of fs.listDir(fs.root)) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (Number.isInteger(pid)) pids.push(pid);
  }
  return pids;
}

function textAsBytes(text: string): ReadBytes {
  const buf = Buffer.from(text, "latin1");
  return { buf, len: buf.length };
}
