import { join } from "node:path";
import { createCollector, type Collector } from "../../../src/collect/collector.ts";
import type { CollectorOptions } from "../../../src/collect/types.ts";
import { createLogger } from "../../../src/log.ts";
import { createProcFs, type ProcFs } from "../../../src/procfs/fs.ts";
import type { Report } from "../../../src/protocol/report.ts";

export const FIXTURES = join(import.meta.dir, "../../fixtures");
export const PROC = join(FIXTURES, "proc");
export const PROC_NEXT = join(FIXTURES, "proc-next");
export const SYS = join(FIXTURES, "sys");

export const DEFAULT_THRESHOLDS = { process_cpu_pct: 200, process_mem_gib: 5, disk_io_mib_s: 10, net_mib_s: 10 };

/** A fixed statfs so filesystem numbers do not depend on this machine. */
export const fakeStatfs = (path: string) => {
  if (path !== "/") throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
  return { bsize: 4096, blocks: 1000, bfree: 400, bavail: 300 };
};

export function fixtureCollector(over: Partial<CollectorOptions> = {}): Collector {
  return createCollector({
    proc: createProcFs(PROC),
    sysRoot: SYS,
    host: "fixture-host",
    agentVersion: "test",
    mounts: [],
    topN: 10,
    thresholds: DEFAULT_THRESHOLDS,
    log: createLogger("silent"),
    statfs: fakeStatfs,
    now: () => 1_700_001_002_000,
    idPrefix: "fixture",
    ...over,
  });
}

/** Primes on proc/, reports on proc-next/ (a 2 s window by the fixtures' uptime). */
export function fixtureReport(over: Partial<CollectorOptions> = {}, next: ProcFs = createProcFs(PROC_NEXT)): Report {
  const c = fixtureCollector(over);
  if (c.collect() !== null) throw new Error("first collect must prime");
  const r = c.collect({ proc: next });
  if (!r) throw new Error("no report");
  return r;
}
