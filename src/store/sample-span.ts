// Where the recorded data starts and ends: what an empty `pmon top` answer names, so "nothing found"
// says whether the window missed the data or there is none.
import type { Db } from "./db.ts";
import { fromTimeValue, timeCol } from "./series-time.ts";

export interface SampleSpan {
  /** epoch ms of the first and last host sample, or null when there is none */
  first: number | null;
  last: number | null;
}

/** First and last sample of one host, or of every host when `host` is undefined. */
export async function sampleSpan(db: Db, host?: string): Promise<SampleSpan> {
  const tc = timeCol(db);
  const rows = await db.query<{ first: string | number | Date | null; last: string | number | Date | null }>(
    `SELECT MIN(${tc}) AS first, MAX(${tc}) AS last FROM tb_monitor_host_info${host === undefined ? "" : " WHERE rshost = ?"}`,
    host === undefined ? [] : [host],
  );
  const r = rows[0];
  return { first: r?.first != null ? fromTimeValue(r.first) : null, last: r?.last != null ? fromTimeValue(r.last) : null };
}
