// The alerts page: open incidents and the last 100 alert messages sent (firing, repeat, recovery).
import type { AlertLogEntry } from "../../store/alert-log.ts";
import type { AlertRow } from "../../store/alerts.ts";
import { formatAge, formatUtc } from "../../util/time.ts";
import { getJson } from "./api.ts";
import { dash, h, show } from "./dom.ts";
import { hostLink } from "./fleet.ts";

interface AlertsReply {
  now: number;
  open: AlertRow[];
  log: AlertLogEntry[];
}

const when = (ms: number | null) => (ms === null ? "-" : `${formatUtc(ms)} UTC`);

// Both alert tables share one frame, so captions, scrolling and the empty case look alike.
function table(caption: string, id: string, headers: string[], rows: HTMLTableRowElement[]): HTMLElement {
  if (rows.length === 0) return h("p", { id }, `${caption}: none.`);
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "data", id },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows),
    ),
  );
}

const hostCell = (rshost: string) => h("th", { scope: "row" }, rshost ? h("a", { href: hostLink(rshost) }, rshost) : "-");

function incidents(rows: AlertRow[], now: number, caption: string, id: string): HTMLElement {
  return table(
    caption,
    id,
    ["Host", "Kind", "State", "Since", "Last alert", "Sent", "Server", "Message"],
    rows.map((a) =>
      h(
        "tr",
        { class: a.istate > 0 ? "problem" : undefined },
        hostCell(a.rshost),
        h("td", {}, dash(a.kind)),
        h("td", {}, a.istate > 0 ? `open${a.since !== null ? ` for ${formatAge(now - a.since)}` : ""}` : "resolved"),
        h("td", {}, when(a.since)),
        h("td", {}, when(a.aTime)),
        h("td", { class: "num" }, String(a.sent)),
        h("td", {}, dash(a.owner)),
        h("td", { class: "cmd" }, dash(a.remarks)),
      ),
    ),
  );
}

const delivery = (e: AlertLogEntry) => (e.channels === 0 ? "no channel" : e.delivered ? "delivered" : "failed");

function messages(rows: AlertLogEntry[], caption: string, id: string): HTMLElement {
  return table(
    caption,
    id,
    ["Sent", "Host", "Kind", "State", "Since", "Delivery", "Sent by", "Message"],
    rows.map((e) =>
      h(
        "tr",
        { class: e.state !== "resolved" ? "problem" : undefined, "data-kind": e.kind, "data-state": e.state },
        h("td", {}, when(e.time)),
        hostCell(e.rshost),
        h("td", {}, dash(e.kind)),
        h("td", {}, e.state),
        h("td", {}, when(e.since)),
        h("td", { class: e.delivered ? undefined : "error" }, delivery(e)),
        h("td", {}, dash(e.sender)),
        h("td", { class: "cmd" }, dash(e.message)),
      ),
    ),
  );
}

export async function alertsPage(app: HTMLElement): Promise<() => void> {
  const reply = await getJson<AlertsReply>("alerts");
  show(app, h("h1", {}, "Alerts"), incidents(reply.open, reply.now, "Open incidents", "open-alerts"), messages(reply.log, "Last 100 alerts sent (newest first)", "alert-log"));
  return () => {};
}
