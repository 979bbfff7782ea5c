// `pmon top` as text: the heaviest processes at a moment or over a range. Pure.
import type { TopBy, TopResult, TopRow } from "../protocol/top.ts";
import { formatTime, zoneLabel } from "../util/time.ts";
import { formatBytes, formatPct, formatRate, formatShare } from "./format.ts";
import { renderTable, type Column } from "./table.ts";

const VALUE: Record<TopBy, { title: string; text: (v: number | null) => string }> = {
  cpu: { title: "CPU", text: (v) => formatPct(v) },
  mem: { title: "RSS", text: (v) => formatBytes(v) },
  io: { title: "DISK IO", text: (v) => formatRate(v) },
  net: { title: "NET", text: (v) => formatRate(v) },
};

function columns(result: TopResult, utc: boolean): Column<TopRow>[] {
  const value = VALUE[result.by];
  const zone = zoneLabel(result.at ?? result.to ?? Date.now(), utc);
  const when: Column<TopRow> =
    result.mode === "at"
      ? { title: `SAMPLE (${zone})`, text: (r) => formatTime(r.sample_time, utc) }
      : { title: "SEEN", align: "right", text: (r) => `${r.samples}/${r.host_samples}` };
  return [
    { title: "HOST", text: (r) => r.host },
    { title: "PID", align: "right", text: (r) => String(r.pid) },
    { title: "INSTANCE", text: (r) => r.instance || "-", maxWidth: 24 },
    { title: value.title, align: "right", text: (r) => value.text(r.value) },
    { title: "SHARE", align: "right", text: (r) => formatShare(r.share), colour: (r) => (r.share !== null && r.share >= 0.5 ? "red" : undefined) },
    when,
    { title: "COMMAND", text: (r) => r.cmdline || r.comm, maxWidth: 60 },
  ];
}

function heading(result: TopResult, utc: boolean): string {
  const scope = result.host ? `host ${result.host}` : `${result.hosts} host${result.hosts === 1 ? "" : "s"}`;
  const zone = zoneLabel(result.at ?? result.to!, utc);
  const when =
    result.mode === "at"
      ? `at ${formatTime(result.at!, utc)} ${zone} (latest sample at or before)`
      : `from ${formatTime(result.from!, utc)} to ${formatTime(result.to!, utc)} ${zone} (average per process)`;
  return `top ${result.limit} by ${result.by} ${when}, ${scope}`;
}

export interface TopViewOptions {
  colour: boolean;
  /** times in UTC instead of the local zone */
  utc?: boolean;
  /** the window searched, for an empty answer */
  window?: { from: number; to: number };
  /** first and last sample of the host (or fleet), for an empty answer */
  span?: { first: number | null; last: number | null };
}

/** "nothing found" in full: the window searched and where the data starts and ends. */
export function emptyAnswer(result: TopResult, opts: TopViewOptions): string {
  const utc = opts.utc === true;
  const t = (ms: number) => `${formatTime(ms, utc)} ${zoneLabel(ms, utc)}`;
  const who = result.host ? `host ${result.host}` : "any host";
  const window = opts.window ? ` between ${t(opts.window.from)} and ${t(opts.window.to)}` : "";
  if (result.hosts > 0) return `no process was recorded in those samples (all below the thresholds)`;
  const span = opts.span;
  if (!span || span.first === null || span.last === null) return `no samples recorded${window}: ${result.host ? `host ${result.host} has` : "the store has"} no samples at all`;
  return `no samples recorded for ${who}${window}; ${result.host ? `its` : "the"} samples run from ${t(span.first)} to ${t(span.last)}`;
}

/** A heading, then the table; an empty answer names the window and where the data is. */
export function renderTop(result: TopResult, opts: TopViewOptions): string {
  const utc = opts.utc === true;
  const head = heading(result, utc) + "\n";
  if (result.rows.length === 0) return head + emptyAnswer(result, opts) + "\n";
  return head + renderTable(columns(result, utc), result.rows, opts);
}
