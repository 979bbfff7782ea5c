// The host page: a time range, charts of the host's history, and the top processes at the moment
// selected on any chart (what `pmon top --host H --at T` prints). The URL holds host, range and moment.
import type { TopBy, TopResult } from "../../protocol/top.ts";
import { OTHER_INTERFACES } from "../../store/interfaces.ts";
import type { HostSeries, ProcessStack } from "../../store/series.ts";
import { formatUtc } from "../../util/time.ts";
import { formatShare } from "../../view/format.ts";
import { getJson } from "./api.ts";
import { drawChart, formatValue, type Chart, type ChartSpec, type Unit } from "./charts.ts";
import { dash, h, show } from "./dom.ts";

export const RANGES: Record<string, number> = { "1h": 3_600_000, "6h": 6 * 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 };

export interface HostView {
  host: string;
  /** a preset ("24h") or a fixed window */
  range: string;
  from?: number;
  to?: number;
  at?: number;
  by: TopBy;
}

const BY: TopBy[] = ["cpu", "mem", "io", "net"];
const BY_UNIT: Record<TopBy, Unit> = { cpu: "pct", mem: "bytes", io: "rate", net: "rate" };

export function parseHostView(host: string, params: URLSearchParams): HostView {
  const n = (k: string) => (/^\d{1,15}$/.test(params.get(k) ?? "") ? Number(params.get(k)) : undefined);
  const from = n("from");
  const to = n("to");
  const by = BY.includes(params.get("by") as TopBy) ? (params.get("by") as TopBy) : "cpu";
  const custom = from !== undefined && to !== undefined && from < to;
  const range = custom ? "custom" : params.get("range") && RANGES[params.get("range")!] ? params.get("range")! : "24h";
  return { host, range, from: custom ? from : undefined, to: custom ? to : undefined, at: n("at"), by };
}

export function hostHash(v: HostView): string {
  const p = new URLSearchParams();
  if (v.range === "custom" && v.from !== undefined && v.to !== undefined) {
    p.set("from", String(v.from));
    p.set("to", String(v.to));
  } else p.set("range", v.range);
  if (v.at !== undefined) p.set("at", String(v.at));
  if (v.by !== "cpu") p.set("by", v.by);
  return `#/host/${encodeURIComponent(v.host)}?${p}`;
}

const processLabel = (p: ProcessStack["processes"][number]) => `${p.comm || "pid"} ${p.pid}${p.instance ? ` [${p.instance}]` : ""}`;

function stackSpec(title: string, unit: Unit, s: ProcessStack): ChartSpec {
  return { title, unit, stacked: true, series: [...s.processes.map((p) => ({ label: processLabel(p), values: p.values })), { label: "rest", values: s.rest }] };
}

/** The charts of a host's history, each with the resource its moment is ranked by. */
export function chartSpecs(s: HostSeries): { spec: ChartSpec; by: TopBy; note?: string }[] {
  const out: { spec: ChartSpec; by: TopBy; note?: string }[] = [
    { by: "cpu", spec: stackSpec("CPU by process (% of one core)", "pct", s.cpu) },
    { by: "cpu", spec: { title: "Host CPU busy (% of all cores)", unit: "pct", stacked: false, series: [{ label: "busy", values: s.cpu_pct }] } },
    { by: "mem", spec: stackSpec("Memory by process (RSS)", "bytes", s.mem) },
    { by: "mem", spec: { title: "Host memory", unit: "bytes", stacked: false, series: [{ label: "used", values: s.mem_used_bytes }, { label: "total", values: s.mem_total_bytes }] } },
    { by: "io", spec: { title: "Disk read/write (all disks)", unit: "rate", stacked: false, series: [{ label: "read", values: s.disk_read_bytes_per_s }, { label: "write", values: s.disk_write_bytes_per_s }] } },
    { by: "io", spec: stackSpec("Disk IO by process (read + write)", "rate", s.io) },
  ];
  const devNote = "Only samples where a device was at or over the disk thresholds are stored; gaps are quieter samples.";
  if (s.devices.length) {
    out.push({ by: "io", note: devNote, spec: { title: "Disk utilisation per device", unit: "pct", stacked: false, series: s.devices.map((d) => ({ label: d.name, values: d.util_pct })) } });
    out.push({
      by: "io",
      note: devNote,
      spec: { title: "Disk read/write per device", unit: "rate", stacked: false, series: s.devices.flatMap((d) => [{ label: `${d.name} read`, values: d.read_bytes_per_s }, { label: `${d.name} write`, values: d.write_bytes_per_s }]) },
    });
  }
  out.push({ by: "net", spec: { title: "Network, all interfaces but lo", unit: "rate", stacked: false, series: [{ label: "rx", values: s.net_rx_bytes_per_s }, { label: "tx", values: s.net_tx_bytes_per_s }] } });
  // hosts whose rows all predate per-interface storage have no interfaces: no empty chart for them
  if (s.interfaces?.length) {
    const label = (name: string) => (name === OTHER_INTERFACES ? "other interfaces" : name);
    out.push({
      by: "net",
      note: "Idle interfaces are not stored; gaps are samples recorded before per-interface storage.",
      spec: { title: "Network per interface", unit: "rate", stacked: false, series: s.interfaces.flatMap((i) => [{ label: `${label(i.name)} rx`, values: i.rx }, { label: `${label(i.name)} tx`, values: i.tx }]) },
    });
  }
  out.push({ by: "net", spec: stackSpec("Network by process (rx + tx)", "rate", s.net) });
  if (s.ports.length) out.push({ by: "net", spec: { title: "Network by listening port", unit: "rate", stacked: false, series: s.ports.flatMap((p) => [{ label: `:${p.name} rx`, values: p.rx }, { label: `:${p.name} tx`, values: p.tx }]) } });
  if (s.unattributed.length) {
    out.push({ by: "net", spec: { title: "Interface traffic no socket accounts for", unit: "rate", stacked: false, series: s.unattributed.flatMap((u) => [{ label: `${u.name} rx`, values: u.rx }, { label: `${u.name} tx`, values: u.tx }]) } });
  }
  if (s.filesystems.length) out.push({ by: "mem", spec: { title: "Filesystem use", unit: "pct", stacked: false, series: s.filesystems.map((f) => ({ label: f.mount, values: f.used_pct })) } });
  return out;
}

function timeWindow(v: HostView, now: number): { from: number; to: number } {
  if (v.range === "custom" && v.from !== undefined && v.to !== undefined) return { from: v.from, to: v.to };
  return { from: now - RANGES[v.range]!, to: now };
}

/** "2026-11-24T03:00" for a datetime-local input, in UTC */
const inputTime = (ms: number) => new Date(ms).toISOString().slice(0, 16);
const fromInput = (s: string) => Date.parse(`${s}:00Z`);

function rangeControls(v: HostView, win: { from: number; to: number }, go: (v: HostView) => void): HTMLElement {
  const presets = Object.keys(RANGES).map((r) =>
    h("button", { type: "button", class: "range", "aria-pressed": String(v.range === r), onclick: () => go({ ...v, range: r, from: undefined, to: undefined, at: undefined }) }, r),
  );
  const from = h("input", { type: "datetime-local", id: "range-from", value: inputTime(win.from), required: true });
  const to = h("input", { type: "datetime-local", id: "range-to", value: inputTime(win.to), required: true });
  const error = h("span", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      class: "custom-range",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const f = fromInput(from.value);
        const t = fromInput(to.value);
        if (!(f < t)) {
          error.textContent = "from must be before to";
          return;
        }
        go({ ...v, range: "custom", from: f, to: t, at: undefined });
      },
    },
    h("label", { for: "range-from" }, "From (UTC)"),
    from,
    h("label", { for: "range-to" }, "to"),
    to,
    h("button", { type: "submit" }, "Show"),
    error,
  );
  return h("div", { class: "ranges", role: "group", "aria-label": "Time range" }, presets, form);
}

function topTable(result: TopResult): HTMLElement {
  const unit = BY_UNIT[result.by];
  if (result.rows.length === 0) {
    return h("p", {}, result.hosts === 0 ? "No sample recorded at or in the 10 minutes before that moment." : "No process was recorded in that sample (all below the thresholds).");
  }
  const sample = result.rows[0]!.sample_time;
  return h(
    "div",
    {},
    h("p", {}, `Sample at ${formatUtc(sample)} UTC (the latest at or before the moment).`),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "data", id: "top" },
        h("thead", {}, h("tr", {}, ["PID", "Instance", "User", "Command", { cpu: "CPU", mem: "RSS", io: "Disk IO", net: "Net" }[result.by], "Share"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          result.rows.map((r) =>
            h(
              "tr",
              { "data-pid": r.pid },
              h("td", { class: "num" }, String(r.pid)),
              h("td", {}, dash(r.instance)),
              h("td", {}, dash(r.user)),
              h("td", { class: "cmd" }, dash(r.cmdline || r.comm)),
              h("td", { class: "num" }, formatValue(unit, r.value)),
              h("td", { class: "num" }, formatShare(r.share)),
            ),
          ),
        ),
      ),
    ),
  );
}

export async function hostPage(app: HTMLElement, v: HostView, go: (v: HostView) => void): Promise<() => void> {
  const now = Date.now();
  const win = timeWindow(v, now);
  const chartsBox = h("div", { class: "charts" });
  const topBox = h("section", { class: "moment", id: "moment", "aria-live": "polite", tabindex: -1 });
  show(
    app,
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Fleet"), " / ", v.host),
    h("h1", {}, v.host),
    rangeControls(v, win, go),
    h("p", { class: "window" }, `${formatUtc(win.from)} to ${formatUtc(win.to)} UTC`),
    topBox,
    chartsBox,
  );
  const { series } = await getJson<{ series: HostSeries }>("host", { host: v.host, from: win.from, to: win.to });
  if (series.times.length === 0) {
    show(chartsBox, h("p", {}, "No report from this host in this range."));
    return () => {};
  }
  if (series.step_s > 1) chartsBox.append(h("p", { class: "note" }, `Each point averages ${series.step_s} s.`));

  const charts: Chart[] = [];
  let current = v;
  const showMoment = async (view: HostView, focus: boolean) => {
    if (view.at === undefined) {
      show(topBox, h("p", { class: "hint" }, "Click a chart, or focus one and use the arrow keys and Enter, to list the processes at that moment."));
      return;
    }
    for (const c of charts) c.mark(view.at);
    const byPicker = h(
      "select",
      { id: "top-by", "aria-label": "Rank by" },
      BY.map((b) => h("option", { value: b, selected: b === view.by }, b)),
    );
    byPicker.addEventListener("change", () => select(view.at!, byPicker.value as TopBy, false));
    show(topBox, h("h2", {}, `Top processes at ${formatUtc(view.at)} UTC`), h("p", {}, h("label", {}, "By ", byPicker), " · ", h("a", { href: hostHash(view), id: "permalink" }, "link to this view")), h("p", {}, "Loading…"));
    try {
      const { top } = await getJson<{ top: TopResult }>("top", { host: view.host, at: view.at, by: view.by, limit: 20 });
      if (current !== view) return;
      topBox.lastElementChild!.replaceWith(topTable(top));
    } catch (e) {
      topBox.lastElementChild!.replaceWith(h("p", { class: "error", role: "alert" }, (e as Error).message));
    }
    if (focus) topBox.focus({ preventScroll: true });
  };
  const select = (at: number, by: TopBy, focus: boolean) => {
    current = { ...current, at, by };
    // replaceState: the link reproduces the view without reloading the charts
    history.replaceState(null, "", hostHash(current));
    void showMoment(current, focus);
  };

  const width = () => Math.max(260, Math.min(chartsBox.clientWidth || 800, 1100));
  for (const { spec, by, note } of chartSpecs(series)) {
    const c = drawChart(chartsBox, series.times, spec, { width: width(), syncKey: "host", onSelect: (at) => select(at, by, false) });
    if (note) c.figure.append(h("p", { class: "note" }, note));
    charts.push(c);
  }
  const onResize = () => {
    const w = width();
    for (const c of charts) c.plot.setSize({ width: w, height: 220 });
  };
  addEventListener("resize", onResize);
  await showMoment(current, false);
  return () => {
    removeEventListener("resize", onResize);
    for (const c of charts) c.plot.destroy();
  };
}
