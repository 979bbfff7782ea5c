// What `pmon top` prints as JSON and renders as a table: the rows of "which processes used the most".
export const TOP_BY = ["cpu", "mem", "io", "net"] as const;
export type TopBy = (typeof TOP_BY)[number];

export interface TopRow {
  host: string;
  pid: number;
  /** epoch ms; pid + start_time identify the process. null for the old tool's rows (it kept only the pid) */
  start_time: number | null;
  instance: string;
  /** the process owner; "" in rows stored before it was recorded */
  user: string;
  comm: string;
  cmdline: string;
  /** cpu: % of one core; mem: RSS bytes; io: read+write bytes/s; net: rx+tx bytes/s (averages in range mode).
   *  null where the old tool never measured it (per-process network) */
  value: number | null;
  /** value / (kept processes + rest) of its host: at that sample, or summed over the range; null for
   *  the old tool's rows, which have no "rest" to compare with */
  share: number | null;
  /** at-mode: the time of the sample used (epoch ms); range-mode: the last sample the process was kept in */
  sample_time: number;
  /** samples the process was kept in, and samples its host sent (1 and 1 in at-mode) */
  samples: number;
  host_samples: number;
}

export interface TopResult {
  mode: "at" | "range";
  by: TopBy;
  limit: number;
  host?: string;
  at?: number;
  from?: number;
  to?: number;
  /** hosts with at least one sample in the window */
  hosts: number;
  rows: TopRow[];
}
