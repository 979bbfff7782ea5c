// A burst of exits larger than one recvmmsg batch (64 datagrams) is drained whole: every exited child's
// record arrives once, whatever the batch boundaries. Needs taskstats (root, initial namespaces); in a
// container (another PID namespace) the kernel refuses every listener, and that refusal is what is tested.
import { afterAll, describe, expect, test } from "bun:test";
import { ownNamespaces } from "../../../src/collect/exits.ts";
import { TaskstatsListener } from "../../../src/net/taskstats-listener.ts";

const CHILDREN = 300;
const inContainer = ownNamespaces("/proc").initialPid === false;
let listener: TaskstatsListener | undefined;
afterAll(() => listener?.close());

describe("taskstats drain", () => {
  test(`${CHILDREN} exits between two drains: each child's record arrives exactly once (in a container: refused)`, () => {
    if (inContainer) {
      expect(() => TaskstatsListener.open().close()).toThrow();
      return;
    }
    listener = TaskstatsListener.open();
    listener.drain(); // what came before
    // one shell forks the children, so the burst is queued before anything reads it
    const p = Bun.spawnSync(["sh", "-c", `i=0; while [ $i -lt ${CHILDREN} ]; do /bin/true & echo $!; i=$((i+1)); done; wait`], { stdout: "pipe" });
    expect(p.exitCode).toBe(0);
    const pids = p.stdout.toString().trim().split("\n").map(Number);
    expect(pids.length).toBe(CHILDREN);
    const d = listener.drain();
    expect(d.overflowed).toBe(false);
    expect(d.malformed).toBe(0);
    const seen = new Map<number, number>();
    for (const e of d.exits) if (e.groupDead) seen.set(e.tgid || e.pid, (seen.get(e.tgid || e.pid) ?? 0) + 1);
    expect(pids.filter((pid) => seen.get(pid) !== 1)).toEqual([]);
    expect(d.exits.length).toBeGreaterThan(64);
    expect(listener.drain().exits.filter((e) => pids.includes(e.tgid || e.pid))).toEqual([]);
  });
});
