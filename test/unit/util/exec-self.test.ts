// The agent's exec with its JIT options (src/util/exec-self.ts) when the exec cannot happen: the caller gets
// the reason and runs on. Run in a child, whose environment the call changes.
import { expect, test } from "bun:test";
import { join } from "node:path";

const module = join(import.meta.dir, "../../../src/util/exec-self.ts");

function inChild(script: string): string {
  const env: Record<string, string | undefined> = { ...process.env, BUN_JSC_useDFGJIT: undefined };
  const p = Bun.spawnSync([process.execPath, "-e", script], { env, stdout: "pipe", stderr: "pipe" });
  expect(p.stderr.toString()).toBe("");
  return p.stdout.toString().trim();
}

test("an exec that fails returns its reason, and the process runs on", () => {
  const out = inChild(`const { execSelfWithAgentJit } = await import(${JSON.stringify(module)});
    process.execPath = "/nonexistent/pmon";
    console.log(execSelfWithAgentJit());`);
  expect(out).toBe("exec of /nonexistent/pmon failed (errno 2)");
});
