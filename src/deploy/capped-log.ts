// A log file that never grows without bound: when the next write would pass half the budget, the file
// becomes <name>.1 (replacing the older one) and a new file starts, so both together stay within maxBytes.
import { closeSync, openSync, renameSync, statSync, writeSync } from "node:fs";

export class CappedLog {
  private fd: number;
  private size: number;
  private readonly fileMax: number;

  constructor(
    readonly path: string,
    maxBytes: number,
  ) {
    this.fileMax = Math.max(1024, Math.floor(maxBytes / 2));
    this.fd = openSync(path, "a", 0o600);
    this.size = statSync(path).size;
  }

  write(chunk: Uint8Array | string): void {
    let data = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
    // A single chunk larger than a whole file keeps only its tail (the newest lines).
    if (data.length > this.fileMax) data = data.subarray(data.length - this.fileMax);
    if (this.size + data.length > this.fileMax) this.rotate();
    writeSync(this.fd, data);
    this.size += data.length;
  }

  /** A line stamped with the time, for the supervisor's own messages. */
  line(message: string): void {
    this.write(`${new Date().toISOString()} [supervisor] ${message}\n`);
  }

  close(): void {
    closeSync(this.fd);
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, "a", 0o600);
    this.size = 0;
  }
}
