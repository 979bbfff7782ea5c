// Shared pieces of the live network tests: child processes with line-based stdout, and polling.
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createLogger } from "../../../src/log.ts";

export const CHILDREN = join(import.meta.dir, "children");
export const MiB = 1024 * 1024;
/** per live test: generous, the machine is shared (no timing is asserted) */
export const LIVE_TIMEOUT_MS = 90_000;
export const quietLog = createLogger("silent");

export interface Child {
  proc: Subprocess<"pipe", "pipe", "pipe">;
  pid: number;
  /** resolves with the first stdout line starting with `prefix` (rest of the line), or rejects at the deadline */
  waitLine(prefix: string, timeoutMs?: number): Promise<string>;
  /** closes stdin (the children exit on it) and waits for the exit */
  stop(): Promise<void>;
}

/** Starts `bun <script> args...`, optionally prefixed by a command such as ["ip", "netns", "exec", NS]. */
export function startChild(script: string, args: string[], prefix: string[] = []): Child {
  const proc = Bun.spawn([...prefix, process.execPath, join(CHILDREN, script), ...args], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  void (async () => {
    let buf = "";
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout) {
      buf += dec.decode(chunk);
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      waiters.splice(0).forEach((w) => w());
    }
    waiters.splice(0).forEach((w) => w());
  })();
  return {
    proc,
    pid: proc.pid,
    async waitLine(p, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = lines.find((l) => l.startsWith(p));
        if (line !== undefined) return line.slice(p.length).trim();
        if (Date.now() > deadline || proc.exitCode !== null) {
          const err = proc.exitCode !== null ? await new Response(proc.stderr).text() : "";
          throw new Error(`${script}: no "${p}" line within ${timeoutMs} ms (exit ${proc.exitCode}) ${err}`);
        }
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
    async stop() {
      try {
        proc.stdin.end();
      } catch {}
      const t = setTimeout(() => proc.kill(9), 10_000);
      await proc.exited;
      clearTimeout(t);
    },
  };
}

/** Fails, showing both numbers, unless `actual` is within `pct` percent of `expected`. */
export function expectWithin(what: string, actual: number, expected: number, pct: number): void {
  if (!(Math.abs(actual - expected) <= (expected * pct) / 100)) {
    throw new Error(`${what}: ${actual} is not within ${pct} % of ${expected}`);
  }
}
