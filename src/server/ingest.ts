// The ingest queue: requests enqueue validated reports and wait; a writer takes everything queued
// (a burst from many agents) and stores it with one writeReports call, so a 200 means "stored".
import type { Logger } from "../log.ts";
import type { Report } from "../protocol/report.ts";
import { ColumnRefusal } from "../store/columns.ts";
import { StoreUnavailableError } from "../store/db.ts";
import { HttpError } from "./errors.ts";
import type { ServerMetrics } from "./metrics.ts";

export type WriteOutcome = "stored" | "duplicate";
export type WriteReports = (items: { report: Report; receivedAt: number }[]) => Promise<WriteOutcome[]>;

export interface IngestOptions {
  write: WriteReports;
  /** called after a batch for the reports it stored, e.g. to update last_report_at */
  afterWrite?: (items: { report: Report; receivedAt: number; replay: boolean }[]) => Promise<void>;
  metrics: ServerMetrics;
  log: Logger;
  /** reports waiting at most; more gets 503 (default 20000) */
  maxQueue?: number;
  /** reports per writeReports call at most (default 500) */
  maxBatch?: number;
  /** batches written at the same time (default 4: measured best of 1/2/4 with bench/ingest.ts on MariaDB) */
  writers?: number;
  /** a batch taking longer answers 503 (default 15 s); the agent resends and gets duplicate: true */
  writeTimeoutMs?: number;
}

interface Pending {
  report: Report;
  receivedAt: number;
  replay: boolean;
  resolve: (o: WriteOutcome) => void;
  reject: (e: unknown) => void;
}

export interface Ingest {
  /** resolves once the report is stored; rejects with HttpError 503 when the store fails or the queue is full */
  submit(report: Report, receivedAt: number, replay: boolean): Promise<WriteOutcome>;
  readonly depth: number;
  /** stops taking new reports and waits until everything queued is written */
  drain(): Promise<void>;
}

export function createIngest(opts: IngestOptions): Ingest {
  const maxQueue = opts.maxQueue ?? 20_000;
  const maxBatch = opts.maxBatch ?? 500;
  const writers = opts.writers ?? 4;
  const timeoutMs = opts.writeTimeoutMs ?? 15_000;
  const log = opts.log.withTag("ingest");
  const queue: Pending[] = [];
  let active = 0;
  let closed = false;
  let idle: (() => void)[] = [];

  const gauge = () => opts.metrics.queueDepth.set(queue.length);

  // batches whose rows are committed but whose afterWrite is still running (not holding a writer)
  let finishing = 0;
  const settleIdle = () => {
    if (active === 0 && finishing === 0 && queue.length === 0) {
      for (const f of idle) f();
      idle = [];
    }
  };

  function pump(): void {
    while (active < writers && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      gauge();
      active++;
      void writeBatch(batch).finally(() => {
        active--;
        pump();
        settleIdle();
      });
    }
  }

  /** afterWrite, then the replies: off the writer slot, so the next batch can commit meanwhile. */
  async function finish(batch: Pending[], outcomes: WriteOutcome[]): Promise<void> {
    if (opts.afterWrite && batch.length) {
      await opts.afterWrite(batch).catch((e) => log.warn(`updating host rows after a batch failed: ${(e as Error).message}`));
    }
    opts.metrics.rows.inc({}, batch.reduce((n, p, i) => n + (outcomes[i] === "stored" ? rowsOf(p.report) : 0), 0));
    batch.forEach((p, i) => p.resolve(outcomes[i] ?? "stored"));
  }

  async function writeBatch(batch: Pending[]): Promise<void> {
    const started = performance.now();
    try {
      const outcomes = await withTimeout(opts.write(batch.map((p) => ({ report: p.report, receivedAt: p.receivedAt }))), timeoutMs);
      opts.metrics.storeLatency.observe((performance.now() - started) / 1000);
      opts.metrics.batches.inc({ outcome: "ok" });
      finishing++;
      void finish(batch, outcomes).finally(() => {
        finishing--;
        settleIdle();
      });
    } catch (e) {
      opts.metrics.storeLatency.observe((performance.now() - started) / 1000);
      if (isUnavailable(e)) {
        opts.metrics.batches.inc({ outcome: "unavailable" });
        log.warn(`store unavailable, ${batch.length} report(s) refused with 503: ${(e as Error).message}`);
        const err = new HttpError(503, "store_unavailable", `store unavailable: ${(e as Error).message}`);
        for (const p of batch) p.reject(err);
        return;
      }
      opts.metrics.batches.inc({ outcome: "error" });
      if (batch.length > 1) {
        // One bad report must not sink the others: write them one by one to find it.
        log.warn(`batch of ${batch.length} failed (${(e as Error).message}); retrying one by one`);
        for (const p of batch) await writeBatch([p]);
        return;
      }
      log.error(`report ${batch[0]!.report.id} from ${batch[0]!.report.host} could not be stored: ${(e as Error).message}`);
      batch[0]!.reject(refusalOf(e));
    }
  }

  return {
    submit(report, receivedAt, replay) {
      if (closed) return Promise.reject(new HttpError(503, "shutting_down", "server is shutting down"));
      if (queue.length >= maxQueue) return Promise.reject(new HttpError(503, "queue_full", `ingest queue full (${maxQueue} reports waiting)`));
      return new Promise<WriteOutcome>((resolve, reject) => {
        queue.push({ report, receivedAt, replay, resolve, reject });
        gauge();
        // Let the other requests of this tick enqueue first, so a burst becomes one batch.
        queueMicrotask(pump);
      });
    },
    get depth() {
      return queue.length;
    },
    drain() {
      closed = true;
      if (active === 0 && finishing === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((r) => idle.push(r));
    },
  };
}

/**
 * Rows a stored report becomes (src/store/reports.ts reportRows): host_info, report_seen and
 * process_rest_info, one per filesystem, process, connection, listening port and unattributed
 * interface. Busy-disk rows and new command-line dictionary rows are not counted (they depend on
 * thresholds and on what is already stored).
 */
export function rowsOf(r: Report): number {
  return 3 + r.system.filesystems.length + r.processes.length + r.connections.length + r.listen_ports.length + r.unattributed.length;
}

/**
 * What the agent is told when its report alone cannot be stored: a 400 naming the field when a value
 * does not fit, else a 503 (it keeps the report and retries). Never the database's own text: that
 * goes to the server log only.
 */
export function refusalOf(e: unknown): HttpError {
  if (e instanceof ColumnRefusal) return new HttpError(400, "bad_report", `report.${e.field}: does not fit the store`);
  const column = refusedColumn(e);
  if (column) return new HttpError(400, "bad_report", `a value for column ${column} does not fit the store`);
  return new HttpError(503, "store_error", "the store could not write this report (details in the server log)");
}

// Driver errors that mean "this value does not fit": MySQL/MariaDB error numbers, SQLite constraint
// codes. The column is taken from the message; the rest of it is not repeated to the client.
const MYSQL_DATA_ERRORS = new Set([1048, 1264, 1265, 1292, 1366, 1367, 1406, 3140, 4025]);
function refusedColumn(e: unknown): string | undefined {
  const err = e as { errno?: number; code?: string; message?: string };
  const message = String(err?.message ?? "");
  const isData = MYSQL_DATA_ERRORS.has(err?.errno ?? 0) || /^SQLITE_(CONSTRAINT_(DATATYPE|NOTNULL|CHECK)|TOOBIG|MISMATCH)/.test(String(err?.code ?? ""));
  if (!isData) return undefined;
  const m = /column [`'"]?(?:\w+[`'"]?\.[`'"]?)*(\w+)[`'"]?/i.exec(message) ?? /constraint failed: (?:\w+\.)?(\w+)/i.exec(message);
  return m?.[1] ?? "unknown";
}

function isUnavailable(e: unknown): boolean {
  return e instanceof StoreUnavailableError || e instanceof WriteTimeout;
}

class WriteTimeout extends Error {
  override name = "WriteTimeout";
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WriteTimeout(`write took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
