// `pmon status` as text: one line per host. Pure: rows and "now" in, a string out.
import type { HostState, HostStatus } from "../protocol/api.ts";
import { escapeControls } from "../util/terminal.ts";
import { formatAge, formatClock, formatTime, zoneLabel } from "../util/time.ts";
import { formatNumber, formatPct, formatRate } from "./format.ts";
import { renderTable, type Colour, type Column } from "./table.ts";

const STATE_COLOUR: Record<HostState, Colour> = {
  running: "green",
  pending: "yellow",
  removing: "yellow",
  removed: "dim",
  failed: "red",
  silent: "red",
  waiting: "yellow",
};

/** red from 90 %, yellow from 75 %: the eye goes to full hosts first */
function levelColour(pct: number | null): Colour {
  if (pct === null) return undefined;
  return pct >= 90 ? "red" : pct >= 75 ? "yellow" : undefined;
}

function topProcess(h: HostStatus): string {
  const p = h.top_process;
  if (!p) return "-";
  const label = p.instance ? `${p.comm}[${p.instance}]` : p.comm;
  return `${label} pid ${p.pid} ${formatPct(p.cpu_pct)}`;
}

const COLUMNS: Column<HostStatus>[] = [
  { title: "HOST", text: (h) => h.host },
  { title: "STATE", text: (h) => h.state, colour: (h) => STATE_COLOUR[h.state] },
  { title: "VERSION", text: (h) => h.agent_version ?? "-", maxWidth: 16 },
  { title: "LAST", align: "right", text: (h) => (h.age_ms === null ? "never" : formatAge(h.age_ms)), colour: (h) => (h.state === "silent" ? "red" : undefined) },
  { title: "CPU", align: "right", text: (h) => formatPct(h.cpu_pct), colour: (h) => levelColour(h.cpu_pct) },
  { title: "LOAD", align: "right", text: (h) => formatNumber(h.load1) },
  { title: "MEM", align: "right", text: (h) => formatPct(h.mem_used_pct), colour: (h) => levelColour(h.mem_used_pct) },
  { title: "FS", align: "right", text: (h) => (h.fs_max_pct === null ? "-" : `${formatPct(h.fs_max_pct, 0)} ${h.fs_max_mount ?? ""}`.trim()), colour: (h) => levelColour(h.fs_max_pct), maxWidth: 24 },
  { title: "NET RX", align: "right", text: (h) => formatRate(h.net_rx_bytes_per_s) },
  { title: "NET TX", align: "right", text: (h) => formatRate(h.net_tx_bytes_per_s) },
  { title: "TOP PROCESS", text: topProcess, maxWidth: 48 },
];

/** The newest server heartbeat in the store and whether it is recent enough to call the server up. */
export interface ServerSeen {
  fresh: boolean;
  /** the newest heartbeat: epoch ms and the server's address */
  last?: { a_time: number; address: string };
}

export interface StatusViewOptions {
  colour: boolean;
  /** for the server-down line; default Date.now() */
  now?: number;
  utc?: boolean;
  /** from the store's heartbeats; absent when the server answered the request itself */
  server?: ServerSeen;
}

/** "server not seen since 03:12 UTC (…)": one line, instead of every host blamed for being silent. */
export function serverDownLine(server: ServerSeen, now: number, utc: boolean): string {
  if (!server.last) return "no pmon server has written a heartbeat to this store: is `pmon server` running against it?";
  const t = server.last.a_time;
  const sameDay = formatTime(t, utc).slice(0, 10) === formatTime(now, utc).slice(0, 10);
  const when = `${sameDay ? formatClock(t, utc) : formatTime(t, utc).slice(0, 16)} ${zoneLabel(t, utc)}`;
  return `server not seen since ${when} (${formatAge(now - t)} ago; last heartbeat from ${server.last.address}): hosts cannot report while no server runs; start it (pmon server) or see its log`;
}

/** The host table, followed by one line per problem (failed deploys, silent hosts), or the server-down line. */
export function renderStatus(hosts: readonly HostStatus[], opts: StatusViewOptions): string {
  const down = opts.server !== undefined && !opts.server.fresh ? serverDownLine(opts.server, opts.now ?? Date.now(), opts.utc === true) + "\n" : "";
  if (hosts.length === 0) return down + "no hosts enrolled (add one with: pmon enroll HOST)\n";
  let out = renderTable(COLUMNS, hosts, opts);
  // with the server down, silence is its fault, not the hosts'
  const problems = hosts.filter((h) => h.state === "failed" || (h.state === "silent" && !down));
  for (const h of problems) {
    const why =
      h.state === "failed"
        ? `deploy failed: ${h.deploy_error ?? "unknown error"}`
        : h.age_ms === null
          ? "running but has never reported"
          : `no report for ${formatAge(h.age_ms)}`;
    out += `${h.host}: ${escapeControls(why.replace(/[\r\n]+/g, " "))}\n`;
  }
  for (const h of hosts.filter((x) => x.state === "waiting")) {
    out += `${h.host}: the old tool's host, waiting for its pmon agent (pmon enroll ${h.host}, or server.adopt_legacy_hosts)\n`;
  }
  const counts = new Map<HostState, number>();
  for (const h of hosts) counts.set(h.state, (counts.get(h.state) ?? 0) + 1);
  out += `${hosts.length} host${hosts.length === 1 ? "" : "s"}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(", ")}\n`;
  return out + down;
}
