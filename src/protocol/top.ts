// What `pmon top` prints as JSON and renders as a table: the rows of "which processes used the most".
export const TOP_BY = ["cpu", "mem", "io", "net"] as const;
export type TopBy = (typeof TOP_BY)[number];

export interface TopRow {
  host: string;
  pid: number;
  /** epoch ms; pid + start_time identify the process */
  start_time: number;
  instance: string;
  comm: string;
  cmdline: string;
  /** cpu: % of one core; mem: RSS bytes; io: read+write bytes/s; net: rx+tx bytes/s (averages in range mode) */
  value: number;
  /** value / (kept processes + rest) of its host: at that sample, or summed over the range */
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
