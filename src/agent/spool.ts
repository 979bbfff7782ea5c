// The on-disk spool of reports no server accepted yet.
//
// One file per report: written to a temp name, fsync'd, renamed into place, then the directory is
// fsync'd. A kill -9 at any moment leaves either the complete file or a stray temp file (removed at
// start), never a torn entry, and deleting an acknowledged entry is a single unlink. An append-only log
// would need compaction and a crc scan to get the same guarantee; at one report per 30 s the file count
// stays small (3 days = 8,640 files). Names sort oldest first: <report time, 15 digits>-<report id>.json.
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../log.ts";

export interface SpoolEntry {
  name: string;
  /** report time (agent clock, ms), from the name */
  time: number;
  bytes: number;
}

export interface SpoolLimits {
  maxBytes: number;
  maxAgeMs: number;
}

export interface SpoolStats {
  entries: number;
  bytes: number;
  /** entries dropped because the spool was over its size or age limit, since start */
  dropped: number;
  /** unreadable entries removed, since start */
  corrupt: number;
}

export class Spool {
  private readonly entries: SpoolEntry[] = [];
  private bytes = 0;
  private dropped = 0;
  private corrupt = 0;

  constructor(
    readonly dir: string,
    private readonly limits: SpoolLimits,
    private readonly log: Logger,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (name.endsWith(".tmp")) {
        // an interrupted write: the report was never acknowledged as spooled
        unlinkSync(path);
        continue;
      }
      const time = parseName(name);
      if (time === undefined) continue;
      const st = statSync(path);
      if ((st.mode & 0o077) !== 0) chmodSync(path, 0o600);
      const size = st.size;
      this.entries.push({ name, time, bytes: size });
      this.bytes += size;
    }
  }

  /** Adds a report durably; returns once it is on disk. Then trims the spool to its limits. */
  add(id: string, time: number, json: string, nowMs: number): void {
    const name = `${String(Math.max(0, Math.floor(time))).padStart(15, "0")}-${safe(id)}.json`;
    const path = join(this.dir, name);
    const data = Buffer.from(json);
    let freed = 0;
    for (;;) {
      try {
        writeDurably(this.dir, path, data);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" && !existsSync(this.dir)) {
          // someone deleted the spool directory: make it again and keep spooling
          this.log.warn(`spool directory ${this.dir} was deleted; recreated`);
          mkdirSync(this.dir, { recursive: true, mode: 0o700 });
          continue;
        }
        // A full disk costs the oldest reports, never the one just collected.
        const oldest = this.entries[0];
        if ((code === "ENOSPC" || code === "EDQUOT") && oldest && oldest.name !== name) {
          this.forget(oldest);
          this.dropped++;
          freed++;
          continue;
        }
        throw e;
      }
    }
    if (freed > 0) this.log.warn(`disk full: dropped the ${freed} oldest spooled report(s) to keep the newest (${this.dropped} since start)`);
    const existing = this.entries.findIndex((e) => e.name === name);
    if (existing >= 0) {
      this.bytes -= this.entries[existing]!.bytes;
      this.entries.splice(existing, 1);
    }
    // keep the list sorted; new entries are almost always the newest
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.name > name) i--;
    this.entries.splice(i, 0, { name, time, bytes: data.byteLength });
    this.bytes += data.byteLength;
    this.trim(nowMs);
  }

  /** The oldest entry and its text, or undefined when empty. Unreadable entries are removed and counted. */
  oldest(): { entry: SpoolEntry; json: string } | undefined {
    while (this.entries.length > 0) {
      const entry = this.entries[0]!;
      try {
        return { entry, json: readFileSync(join(this.dir, entry.name), "utf8") };
      } catch (e) {
        this.log.warn(`spool entry ${entry.name} unreadable, removed: ${(e as Error).message}`);
        this.corrupt++;
        this.forget(entry);
      }
    }
    return undefined;
  }

  /** Deletes an entry once a server acknowledged it (or refused it for good). */
  remove(entry: SpoolEntry): void {
    this.forget(entry);
  }

  get size(): number {
    return this.entries.length;
  }

  stats(): SpoolStats {
    return { entries: this.entries.length, bytes: this.bytes, dropped: this.dropped, corrupt: this.corrupt };
  }

  /** Drops the oldest entries while the spool is over its byte or age limit. */
  trim(nowMs: number): void {
    let n = 0;
    while (this.entries.length > 0) {
      const oldest = this.entries[0]!;
      if (this.bytes <= this.limits.maxBytes && nowMs - oldest.time <= this.limits.maxAgeMs) break;
      this.forget(oldest);
      n++;
    }
    if (n > 0) {
      this.dropped += n;
      this.log.warn(`spool over its limits: dropped ${n} oldest report(s) (${this.dropped} since start)`);
    }
  }

  private forget(entry: SpoolEntry): void {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    this.bytes -= entry.bytes;
    try {
      unlinkSync(join(this.dir, entry.name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
}

function parseName(name: string): number | undefined {
  const m = /^(\d{15})-[A-Za-z0-9_.:-]+\.json$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function safe(id: string): string {
  return id.replace(/[^A-Za-z0-9_.:-]/g, "_").slice(0, 128);
}

/** Temp file, fsync, rename, fsync the directory; a failed write leaves no temp file behind. */
function writeDurably(dir: string, path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp`;
  try {
    const fd = openSync(tmp, "w", 0o600);
    try {
      let at = 0;
      while (at < data.byteLength) at += writeSync(fd, data, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw e;
  }
  syncDir(dir);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
