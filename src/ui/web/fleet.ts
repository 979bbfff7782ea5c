// The fleet page: what `pmon status` prints, problems first, sortable, refreshed every interval,
// and this server's own health.
import type { HostStatus } from "../../protocol/api.ts";
import type { ServerRow } from "../../store/servers.ts";
import { formatAge, formatUtc } from "../../util/time.ts";
import { formatNumber, formatPct, formatRate } from "../../view/format.ts";
import { getJson } from "./api.ts";
import { dash, h, show } from "./dom.ts";

interface FleetReply {
  now: number;
  refresh_s: number;
  hosts: HostStatus[];
  server: { version: string; store: string; storage: string; queue: number; servers: ServerRow[] };
}

interface Column {
  title: string;
  text(h: HostStatus): string;
  /** the sort key; numbers sort numerically, null always last */
  key(h: HostStatus): string | number | null;
  numeric?: boolean;
  level?(h: HostStatus): number | null;
}

const problem = (s: HostStatus) => (s.state === "silent" || s.state === "failed" ? 0 : 1);

const COLUMNS: Column[] = [
  { title: "Host", text: (s) => s.host, key: (s) => s.host },
  { title: "State", text: (s) => s.state, key: (s) => `${problem(s)}${s.state}` },
  { title: "Version", text: (s) => dash(s.agent_version), key: (s) => s.agent_version },
  { title: "Last report", text: (s) => (s.age_ms === null ? "never" : `${formatAge(s.age_ms)} ago`), key: (s) => s.age_ms, numeric: true },
  { title: "CPU", text: (s) => formatPct(s.cpu_pct), key: (s) => s.cpu_pct, numeric: true, level: (s) => s.cpu_pct },
  { title: "Load", text: (s) => formatNumber(s.load1), key: (s) => s.load1, numeric: true },
  { title: "Mem", text: (s) => formatPct(s.mem_used_pct), key: (s) => s.mem_used_pct, numeric: true, level: (s) => s.mem_used_pct },
  { title: "FS", text: (s) => (s.fs_max_pct === null ? "-" : `${formatPct(s.fs_max_pct, 0)} ${s.fs_max_mount ?? ""}`.trim()), key: (s) => s.fs_max_pct, numeric: true, level: (s) => s.fs_max_pct },
  { title: "Net rx", text: (s) => formatRate(s.net_rx_bytes_per_s), key: (s) => s.net_rx_bytes_per_s, numeric: true },
  { title: "Net tx", text: (s) => formatRate(s.net_tx_bytes_per_s), key: (s) => s.net_tx_bytes_per_s, numeric: true },
  {
    title: "Top process",
    text: (s) => (s.top_process ? `${s.top_process.comm}${s.top_process.instance ? `[${s.top_process.instance}]` : ""} pid ${s.top_process.pid} ${formatPct(s.top_process.cpu_pct)}` : "-"),
    key: (s) => s.top_process?.cpu_pct ?? null,
    numeric: true,
  },
];

/** null = the default order: silent and failed hosts first, then by name */
let sort: { col: number; desc: boolean } | null = null;

function sorted(hosts: HostStatus[]): HostStatus[] {
  const byName = (a: HostStatus, b: HostStatus) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0);
  if (!sort) return [...hosts].sort((a, b) => problem(a) - problem(b) || byName(a, b));
  const col = COLUMNS[sort.col]!;
  const dir = sort.desc ? -1 : 1;
  return [...hosts].sort((a, b) => {
    const ka = col.key(a);
    const kb = col.key(b);
    if (ka === null || kb === null) return ka === kb ? byName(a, b) : ka === null ? 1 : -1;
    return (ka < kb ? -1 : ka > kb ? 1 : 0) * dir || byName(a, b);
  });
}

export function hostLink(host: string): string {
  return `#/host/${encodeURIComponent(host)}`;
}

function levelClass(v: number | null | undefined): string | undefined {
  if (v === null || v === undefined) return undefined;
  return v >= 90 ? "bad" : v >= 75 ? "warn" : undefined;
}

function table(reply: FleetReply, rerender: () => void): HTMLElement {
  if (reply.hosts.length === 0) return h("p", {}, "No hosts enrolled yet (add one with: pmon enroll HOST).");
  const head = COLUMNS.map((c, i) => {
    const active = sort?.col === i;
    const ariaSort = active ? (sort!.desc ? "descending" : "ascending") : "none";
    return h(
      "th",
      { scope: "col", "aria-sort": ariaSort },
      h(
        "button",
        {
          type: "button",
          class: "sort",
          "data-key": `sort-${i}`,
          onclick: () => {
            sort = active ? (sort!.desc ? null : { col: i, desc: true }) : { col: i, desc: Boolean(c.numeric) };
            rerender();
          },
        },
        c.title,
        active ? (sort!.desc ? " ▼" : " ▲") : "",
      ),
    );
  });
  const rows = sorted(reply.hosts).map((s) =>
    h(
      "tr",
      { class: problem(s) === 0 ? "problem" : undefined, "data-host": s.host },
      COLUMNS.map((c, i) =>
        i === 0
          ? h("th", { scope: "row" }, h("a", { href: hostLink(s.host), "data-key": `host-${s.host}` }, s.host))
          : h("td", { class: [c.numeric ? "num" : "", i === 1 ? `state-${s.state}` : "", levelClass(c.level?.(s)) ?? ""].join(" ").trim() || undefined }, c.text(s)),
      ),
    ),
  );
  const problems = reply.hosts
    .filter((s) => problem(s) === 0)
    .map((s) => h("li", {}, h("a", { href: hostLink(s.host) }, s.host), ": ", s.state === "failed" ? `deploy failed: ${dash(s.deploy_error)}` : s.age_ms === null ? "running but has never reported" : `no report for ${formatAge(s.age_ms)}`));
  return h(
    "div",
    {},
    h("div", { class: "scroll" }, h("table", { class: "data", id: "fleet" }, h("caption", {}, `${reply.hosts.length} host${reply.hosts.length === 1 ? "" : "s"}`), h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows))),
    problems.length ? h("ul", { class: "problems" }, problems) : null,
  );
}

function health(reply: FleetReply): HTMLElement {
  const s = reply.server;
  const servers = s.servers.map((r) => h("li", {}, `${r.server_id} (${r.address}, ${r.version}): last heartbeat ${formatAge(reply.now - r.a_time)} ago, ${formatUtc(r.a_time)} UTC`));
  return h(
    "section",
    { class: "health", "aria-label": "Server health" },
    h("p", {}, `This server: pmon ${s.version} · store ${s.store} (${s.storage}) · ingest queue ${s.queue} · updated ${formatUtc(reply.now)} UTC`),
    servers.length ? h("ul", {}, servers) : h("p", {}, "No server heartbeat recorded in the last day."),
  );
}

/** Renders the fleet page into `app` and refreshes it until the returned stop function is called. */
export async function fleetPage(app: HTMLElement): Promise<() => void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let last: FleetReply | undefined;
  const body = h("div", {});
  // Each refresh rebuilds the table: keep the keyboard focus on the same button or link.
  const render = () => {
    if (!last) return;
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.key;
    show(body, health(last), table(last, render));
    if (focused) [...body.querySelectorAll<HTMLElement>("[data-key]")].find((el) => el.dataset.key === focused)?.focus();
  };
  show(app, h("h1", {}, "Fleet"), body);
  const load = async () => {
    last = await getJson<FleetReply>("fleet");
    if (stopped) return;
    render();
    timer = setTimeout(() => load().catch((e) => show(body, h("p", { class: "error", role: "alert" }, String((e as Error).message)))), Math.max(1, last.refresh_s) * 1000);
  };
  await load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
