// Time-series charts on uPlot: stacked areas (processes + rest) or lines, in UTC, with a keyboard
// cursor (arrow keys move over the samples, Enter selects that moment) and a marker at the moment
// that is selected.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatBytes, formatPct, formatRate } from "../../view/format.ts";
import { formatUtc } from "../../util/time.ts";
import { h } from "./dom.ts";

export type Unit = "pct" | "bytes" | "rate";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

export interface ChartSpec {
  title: string;
  unit: Unit;
  /** stacked areas (the series add up) or plain lines */
  stacked: boolean;
  series: ChartSeries[];
}

export interface Chart {
  plot: uPlot;
  figure: HTMLElement;
  /** redraws the moment marker */
  mark(atMs: number | null): void;
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939", "#8c6d31"];
const REST_COLOUR = "#9e9e9e";

export function formatValue(unit: Unit, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  return unit === "pct" ? formatPct(v) : unit === "bytes" ? formatBytes(v) : formatRate(v);
}

function axisValue(unit: Unit, v: number): string {
  if (unit === "pct") return `${Number(v.toFixed(1))}%`;
  return unit === "bytes" ? formatBytes(v) : formatRate(v);
}

/** 24-hour UTC tick labels; the date where it changes (and on the first tick). */
function timeTicks(splits: number[], incrS: number): string[] {
  let lastDay = "";
  return splits.map((v) => {
    const s = formatUtc(v * 1000);
    const day = s.slice(5, 10);
    const time = incrS < 60 ? s.slice(11, 19) : s.slice(11, 16);
    if (incrS >= 86_400) return day;
    const label = day !== lastDay ? `${time}\n${day}` : time;
    lastDay = day;
    return label;
  });
}

/** The stacked form: each series holds its own value plus all below it; drawn top-most first. */
function cumulative(series: ChartSeries[], n: number): (number | null)[][] {
  const acc = new Float64Array(n);
  return series.map((s) =>
    Array.from({ length: n }, (_, i) => {
      acc[i]! += s.values[i] ?? 0;
      return acc[i]!;
    }),
  );
}

export interface ChartOptions {
  width: number;
  height?: number;
  /** the user chose the moment at this point (click, or Enter on the keyboard cursor) */
  onSelect?(atMs: number): void;
  /** keeps the cursors of the charts of one page together */
  syncKey?: string;
}

/** Draws `spec` over `timesMs` into a new figure appended to `parent`. */
export function drawChart(parent: HTMLElement, timesMs: number[], spec: ChartSpec, opts: ChartOptions): Chart {
  const n = timesMs.length;
  const xs = timesMs.map((t) => t / 1000);
  const colour = (i: number, label: string) => (label === "rest" ? REST_COLOUR : PALETTE[i % PALETTE.length]!);
  // Stacked: the last series (the top of the stack) is drawn first so lower ones stay visible.
  const drawn = spec.stacked ? spec.series.map((s, i) => ({ s, i })).reverse() : spec.series.map((s, i) => ({ s, i }));
  const stackedValues = spec.stacked ? cumulative(spec.series, n) : [];
  const data: uPlot.AlignedData = [xs, ...drawn.map(({ s, i }) => (spec.stacked ? stackedValues[i]! : s.values))];
  let marked: number | null = null;

  const status = h("p", { class: "sr-only", "aria-live": "polite" });
  const box = h("div", {
    class: "chart",
    tabindex: 0,
    role: "img",
    "aria-label": `${spec.title}: use the arrow keys to move over the samples, Enter to list the processes at that moment`,
  });
  const figure = h("figure", { class: "figure", "data-points": n, "data-series": spec.series.length }, h("figcaption", {}, spec.title), box, status);
  parent.append(figure);

  const plot = new uPlot(
    {
      width: opts.width,
      height: opts.height ?? 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      cursor: { drag: { x: false, y: false, setScale: false }, sync: opts.syncKey ? { key: opts.syncKey } : undefined, points: { show: false } },
      legend: { live: true },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] } },
      axes: [
        { stroke: "#555", grid: { stroke: "#eee" }, ticks: { stroke: "#ccc" }, label: "UTC", labelSize: 14, size: 48, values: (_u, splits, _ax, _space, incr) => timeTicks(splits, incr) },
        { stroke: "#555", grid: { stroke: "#eee" }, ticks: { stroke: "#ccc" },
          // wide enough for the longest label ("95.4 MiB/s"), measured in characters of the 12 px axis font
          size: (_u, values) => Math.max(48, ...(values ?? []).map((v) => String(v).length * 7 + 18)),
          values: (_u, splits) => splits.map((v) => axisValue(spec.unit, v)),
        },
      ],
      series: [
        { label: "time (UTC)", value: (_u, v) => (v === null || v === undefined ? "-" : formatUtc(v * 1000)) },
        ...drawn.map(({ s, i }) => ({
          label: s.label,
          stroke: colour(i, s.label),
          fill: spec.stacked ? colour(i, s.label) + "cc" : undefined,
          width: spec.stacked ? 1 : 1.5,
          points: { show: false },
          spanGaps: false,
          // the legend shows each series' own value, not its stacked height
          value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) => (idx === null ? "-" : formatValue(spec.unit, s.values[idx])),
        })),
      ],
      hooks: {
        draw: [
          (u) => {
            if (marked === null) return;
            const x = Math.round(u.valToPos(marked / 1000, "x", true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
            const ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = "#c00";
            ctx.lineWidth = 2;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.restore();
          },
        ],
      },
    },
    data,
    box,
  );

  const select = (idx: number | null | undefined) => {
    if (idx === null || idx === undefined || idx < 0 || idx >= n) return;
    opts.onSelect?.(timesMs[idx]!);
  };
  plot.over.addEventListener("click", () => select(plot.cursor.idx));

  // Keyboard: the cursor walks the samples; Home/End jump to the ends, Page keys by a tenth.
  let keyIdx: number | null = null;
  const moveTo = (idx: number) => {
    keyIdx = Math.max(0, Math.min(n - 1, idx));
    plot.setCursor({ left: plot.valToPos(xs[keyIdx]!, "x"), top: plot.bbox.height / devicePixelRatio / 2 });
    status.textContent = `${formatUtc(timesMs[keyIdx]!)} UTC: ${spec.series.map((s) => `${s.label} ${formatValue(spec.unit, s.values[keyIdx!])}`).join(", ")}`;
  };
  box.addEventListener("keydown", (e) => {
    if (n === 0) return;
    const page = Math.max(1, Math.round(n / 10));
    const cur = keyIdx ?? plot.cursor.idx ?? n - 1;
    const moves: Record<string, number> = { ArrowLeft: cur - 1, ArrowRight: cur + 1, PageUp: cur - page, PageDown: cur + page, Home: 0, End: n - 1 };
    if (e.key in moves) {
      e.preventDefault();
      moveTo(moves[e.key]!);
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      select(keyIdx ?? cur);
    }
  });
  box.addEventListener("focus", () => {
    if (n > 0) moveTo(keyIdx ?? n - 1);
  });

  return {
    plot,
    figure,
    mark(atMs) {
      marked = atMs;
      plot.redraw(false, false);
    },
  };
}
