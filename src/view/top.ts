// `pmon top` as text: the heaviest processes at a moment or over a range. Pure.
import type { TopBy, TopResult, TopRow } from "../protocol/top.ts";
import { formatUtc } from "../util/time.ts";
import { formatBytes, formatPct, formatRate, formatShare } from "./format.ts";
import { renderTable, type Column } from "./table.ts";

const VALUE: Record<TopBy, { title: string; text: (v: number | null) => string }> = {
  cpu: { title: "CPU", text: (v) => formatPct(v) },
  mem: { title: "RSS", text: (v) => formatBytes(v) },
  io: { title: "DISK IO", text: (v) => formatRate(v) },
  net: { title: "NET", text: (v) => formatRate(v) },
};

function columns(result: TopResult): Column<TopRow>[] {
  const value = VALUE[result.by];
  const when: Column<TopRow> =
    result.mode === "at"
      ? { title: "SAMPLE (UTC)", text: (r) => formatUtc(r.sample_time) }
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

function heading(result: TopResult): string {
  const scope = result.host ? `host ${result.host}` : `${result.hosts} host${result.hosts === 1 ? "" : "s"}`;
  const when =
    result.mode === "at"
      ? `at ${formatUtc(result.at!)} UTC (latest sample at or before)`
      : `from ${formatUtc(result.from!)} to ${formatUtc(result.to!)} UTC (average per process)`;
  return `top ${result.limit} by ${result.by} ${when}, ${scope}`;
}

/** A heading, then the table; says so plainly when nothing was recorded. */
export function renderTop(result: TopResult, opts: { colour: boolean }): string {
  const head = heading(result) + "\n";
  if (result.rows.length === 0) {
    const why = result.hosts === 0 ? "no samples recorded in that window" : "no process was recorded in those samples (all below the thresholds)";
    return head + why + "\n";
  }
  return head + renderTable(columns(result), result.rows, opts);
}
