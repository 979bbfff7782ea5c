// Where stdout and stderr text goes. The binary writes to fds 1 and 2 directly: creating process.stdout or
// process.stderr costs a start some 8 ms of CPU and 8 MB of memory each, a large part of a short
// `pmon agent --once` and of the agent's resident size. Callers of runCommand in a process of their own
// (tests) keep the streams, which they may replace to capture the text.
import { fstatSync, writeSync } from "node:fs";

export interface OutputTarget {
  write(text: string): unknown;
  isTTY?: boolean;
}

let direct = false;
const targets: { 1?: OutputTarget; 2?: OutputTarget } = {};

/** main.ts of the binary: from now on stdout and stderr text goes straight to fds 1 and 2. */
export function writeOutputToFds(): void {
  direct = true;
}

/** stdout: fd 1 in the binary, else process.stdout */
export function stdout(): OutputTarget {
  return direct ? (targets[1] ??= fdTarget(1)) : process.stdout;
}

/** stderr: fd 2 in the binary, else process.stderr */
export function stderr(): OutputTarget {
  return direct ? (targets[2] ??= fdTarget(2)) : process.stderr;
}

/** Whether `target` is the binary's own fd 2 (a terminal logger then needs the real stream). */
export function isDirectStderr(target: OutputTarget): boolean {
  return target === targets[2];
}

function fdTarget(fd: 1 | 2): OutputTarget {
  /** "queued": a pipe was full once, so the stream carries everything after, in order; "gone": the reader left */
  let mode: "direct" | "queued" | "gone" = "direct";
  const stream = () => (fd === 1 ? process.stdout : process.stderr);
  return {
    // synchronous: nothing written is lost when the process ends right after
    write(text: string) {
      if (mode === "gone") return true;
      if (mode === "queued") return stream().write(text);
      const bytes = Buffer.from(text);
      let done = 0;
      try {
        while (done < bytes.length) done += writeSync(fd, bytes, done);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // `pmon top | head`: the reader is gone, so the rest is dropped and the command ends with its own exit code
        if (code === "EPIPE") mode = "gone";
        else if (code === "EAGAIN") {
          // a non-blocking pipe that is full
          mode = "queued";
          stream().write(bytes.subarray(done));
        } else throw e;
      }
      return true;
    },
    isTTY: isTerminal(fd),
  };
}

// Character devices that are terminals: ttyN and serial lines (4), tty/console/ptmx (5), old BSD pty slaves
// (3), Unix98 pty slaves (136-143). /dev/null, also a character device (major 1), is not one.
const TERMINAL_MAJORS = new Set([3, 4, 5, 136, 137, 138, 139, 140, 141, 142, 143]);

/** isatty() without loading node:tty: a character device with a terminal's major number. */
export function isTerminal(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isCharacterDevice() && TERMINAL_MAJORS.has(((st.rdev >> 8) & 0xfff) | (Math.floor(st.rdev / 2 ** 32) & ~0xfff));
  } catch {
    return false;
  }
}
