// `pmon ... | head` and the like: when the reader of stdout has gone, the rest of the output is dropped
// and the command ends with its own exit code, not with an "internal error" about a broken pipe.
import { expect, test } from "bun:test";
import { requireBinary } from "../../helpers/binary.ts";

/** Runs pmon with its stdout into a pipe whose reader exits first; returns pmon's exit code and stderr. */
function intoClosedPipe(args: string[]): { code: number; stderr: string } {
  // `true` exits at once; pmon writes 0.3 s later, into a pipe nobody reads any more
  const script = '(sleep 0.3; "$@"; echo "pmon-exit=$?" >&2) | true';
  const r = Bun.spawnSync(["sh", "-c", script, "sh", requireBinary(), ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const stderr = r.stderr.toString();
  const m = /pmon-exit=(\d+)/.exec(stderr);
  if (!m) throw new Error(`no exit code in: ${stderr}`);
  return { code: Number(m[1]), stderr: stderr.replace(m[0], "").trim() };
}

test.each([[["--help"]], [["completion", "bash"]], [["--version"]]])("pmon %p into a closed pipe: exit 0, nothing on stderr", (args) => {
  const r = intoClosedPipe(args);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}, 30_000);
