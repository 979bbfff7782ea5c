// A /proc (or /sys) tree under a root path. Tests point it at fixture trees and may inject readText to
// simulate EACCES, which root would otherwise ignore.
import { readdirSync, readlinkSync, statSync } from "node:fs";
import { PidStatFiles } from "./pid-stat-files.ts";
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
  /** the pids under the root: its numeric entries, one per process */
  pids(): number[];
  /** /proc/PID/stat as bytes, like readBytes; with `keepStatFiles`, through a descriptor kept open (pid-stat-files.ts) */
  readPidStat(pid: number): ReadBytes;
  /** after a scan: lets go of what is kept for processes not in `live` */
  retainPids(live: { has(pid: number): boolean }): void;
  /** lets go of every kept descriptor */
  close(): void;
}

export interface ProcFsOverrides {
  readText?: (path: string, singleRecord?: boolean) => string;
  /** keep each process's stat open between scans (the agent); tests of fixture trees read files afresh */
  keepStatFiles?: boolean;
}

export function createProcFs(root: string = DEFAULT_PROC_ROOT, overrides: ProcFsOverrides = {}): ProcFs {
  const readText = overrides.readText;
  const trimmed = root.length > 1 && root.endsWith("/") ? root.slice(0, -1) : root;
  const readBytes = readText ? (p: string, single?: boolean) => textAsBytes(readText(p, single)) : readProcBytes;
  const kept = overrides.keepStatFiles && !readText ? new PidStatFiles(trimmed) : undefined;
  return {
    root: trimmed,
    readText: readText ?? readProcText,
    readBytes,
    readLink: (p) => readlinkSync(p),
    listDir: (p) => readdirSync(p),
    ownerUid: (p) => statSync(p).uid,
    pids: kept ? () => kept.pids() : () => pidEntries(readdirSync(trimmed)),
    readPidStat: kept ? (pid) => kept.read(pid) : (pid) => readBytes(`${trimmed}/${pid}/stat`, true),
    retainPids: (live) => kept?.retain(live),
    close: () => kept?.close(),
  };
}

/** Numeric entries of a directory listing: one per process. */
function pidEntries(names: string[]): number[] {
  const pids: number[] = [];
  for (const name of names) {
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
