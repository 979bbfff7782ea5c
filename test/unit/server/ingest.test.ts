// The ingest queue on its own, with a scripted writeReports: bursts coalesce, failures map to 503,
// one poisoned report does not sink its batch, a full queue refuses, drain waits for everything.
import { describe, expect, test } from "bun:test";
import { createLogger } from "../../../src/log.ts";
import type { Report } from "../../../src/protocol/report.ts";
import { StoreUnavailableError } from "../../../src/store/db.ts";
import { HttpError } from "../../../src/server/errors.ts";
import { createIngest, type WriteReports } from "../../../src/server/ingest.ts";
import { createMetrics } from "../../../src/server/metrics.ts";
import { validReport } from "../../helpers/server/fixtures.ts";
import { ColumnRefusal } from "../../../src/store/columns.ts";

const log = createLogger("silent");
const reports = (n: number, prefix = "r") => Array.from({ length: n }, (_, i) => validReport("h1", `${prefix}-${i}`, Date.now(), 1));

function recorder(behaviour: (items: { report: Report }[]) => Promise<("stored" | "duplicate")[]> = async (items) => items.map(() => "stored")) {
  const batches: string[][] = [];
  const write: WriteReports = async (items) => {
    batches.push(items.map((i) => i.report.id));
    return behaviour(items);
  };
  return { batches, write };
}

const status = (p: Promise<unknown>) => p.then(() => 200, (e) => (e instanceof HttpError ? e.status : -1));

describe("ingest queue", () => {
  test("a burst submitted in one tick is written as one batch (one writer)", async () => {
    const r = recorder();
    const ingest = createIngest({ write: r.write, metrics: createMetrics(), log, writers: 1 });
    const outcomes = await Promise.all(reports(50).map((x) => ingest.submit(x, Date.now(), false)));
    expect(outcomes.every((o) => o === "stored")).toBe(true);
    expect(r.batches.length).toBe(1);
    expect(r.batches[0]!.length).toBe(50);
  });

  test("reports queued while a batch is written go together into the next one", async () => {
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const r = recorder(async (items) => {
      if (r.batches.length === 1) await gate;
      return items.map(() => "stored");
    });
    const ingest = createIngest({ write: r.write, metrics: createMetrics(), log, writers: 1 });
    const first = ingest.submit(reports(1, "first")[0]!, Date.now(), false);
    await Bun.sleep(5);
    const rest = reports(30, "later").map((x) => ingest.submit(x, Date.now(), false));
    expect(ingest.depth).toBe(30);
    release();
    await Promise.all([first, ...rest]);
    expect(r.batches.map((b) => b.length)).toEqual([1, 30]);
  });

  test("a store outage or a slow store is a 503 for every report of the batch", async () => {
    const down = createIngest({ write: async () => Promise.reject(new StoreUnavailableError("database unavailable: ECONNREFUSED")), metrics: createMetrics(), log });
    expect(await Promise.all(reports(3).map((x) => status(down.submit(x, Date.now(), false))))).toEqual([503, 503, 503]);
    const slow = createIngest({ write: () => new Promise(() => {}), metrics: createMetrics(), log, writeTimeoutMs: 50 });
    expect(await status(slow.submit(reports(1)[0]!, Date.now(), false))).toBe(503);
  });

  test("one report that breaks its batch is found by writing the rest one by one; the agent never sees DB text", async () => {
    const dbText = "Data too long for column 'secret_internal' at row 1";
    const r = recorder(async (items) => {
      if (items.some((i) => i.report.id === "r-3")) throw Object.assign(new Error(dbText), { errno: 1406 });
      if (items.some((i) => i.report.id === "r-4")) throw new ColumnRefusal("tb_monitor_process_io_info", "pid", "processes[].pid", "3000000000 is outside");
      if (items.some((i) => i.report.id === "r-5")) throw new Error("disk I/O error");
      return items.map(() => "stored");
    });
    const ingest = createIngest({ write: r.write, metrics: createMetrics(), log, writers: 1 });
    const settled = await Promise.allSettled(reports(7).map((x) => ingest.submit(x, Date.now(), false)));
    const errs = settled.map((s) => (s.status === "rejected" ? (s.reason as HttpError) : undefined));
    expect(errs.map((e) => e?.status ?? 200)).toEqual([200, 200, 200, 400, 400, 503, 200]);
    expect(errs[3]!.message).toContain("secret_internal");
    expect(errs[3]!.message).not.toContain("Data too long");
    expect(errs[4]!.message).toBe("report.processes[].pid: does not fit the store");
    expect(errs[5]!.message).not.toContain("disk I/O");
  });

  test("a full queue refuses with 503; drain finishes what was queued, then refuses", async () => {
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const r = recorder(async (items) => {
      await gate;
      return items.map(() => "stored");
    });
    const ingest = createIngest({ write: r.write, metrics: createMetrics(), log, writers: 1, maxQueue: 5 });
    const all = reports(6);
    const accepted = [status(ingest.submit(all[0]!, Date.now(), false))];
    await Bun.sleep(5); // the first is being written
    accepted.push(...all.slice(1).map((x) => status(ingest.submit(x, Date.now(), false)))); // five wait
    expect(ingest.depth).toBe(5);
    expect(await status(ingest.submit(reports(1, "over")[0]!, Date.now(), false))).toBe(503);
    const drained = ingest.drain();
    expect(await status(ingest.submit(reports(1, "late")[0]!, Date.now(), false))).toBe(503);
    release();
    await drained;
    expect(await Promise.all(accepted)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(ingest.depth).toBe(0);
  });
});
