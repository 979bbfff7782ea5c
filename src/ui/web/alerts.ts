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

function incidents(rows: AlertRow[], now: number, caption: string, id: string): HTMLElement {
  if (rows.length === 0) return h("p", { id }, `${caption}: none.`);
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "data", id },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ["Host", "Kind", "State", "Since", "Last alert", "Sent", "Server", "Message"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        rows.map((a) =>
          h(
            "tr",
            { class: a.istate > 0 ? "problem" : undefined },
            h("th", { scope: "row" }, a.rshost ? h("a", { href: hostLink(a.rshost) }, a.rshost) : "-"),
            h("td", {}, dash(a.kind)),
            h("td", {}, a.istate > 0 ? `open${a.since !== null ? ` for ${formatAge(now - a.since)}` : ""}` : "resolved"),
            h("td", {}, when(a.since)),
            h("td", {}, when(a.aTime)),
            h("td", { class: "num" }, String(a.sent)),
            h("td", {}, dash(a.owner)),
            h("td", { class: "cmd" }, dash(a.remarks)),
          ),
        ),
      ),
    ),
  );
}

const delivery = (e: AlertLogEntry) => (e.channels === 0 ? "no channel" : e.delivered ? "delivered" : "failed");

function messages(rows: AlertLogEntry[], caption: string, id: string): HTMLElement {
  if (rows.length === 0) return h("p", { id }, `${caption}: none.`);
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "data", id },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ["Sent", "Host", "Kind", "State", "Since", "Delivery", "Sent by", "Message"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        rows.map((e) =>
          h(
            "tr",
            { class: e.state !== "resolved" ? "problem" : undefined, "data-kind": e.kind, "data-state": e.state },
            h("td", {}, when(e.time)),
            h("th", { scope: "row" }, e.rshost ? h("a", { href: hostLink(e.rshost) }, e.rshost) : "-"),
            h("td", {}, dash(e.kind)),
            h("td", {}, e.state),
            h("td", {}, when(e.since)),
            h("td", { class: e.delivered ? undefined : "error" }, delivery(e)),
            h("td", {}, dash(e.sender)),
            h("td", { class: "cmd" }, dash(e.message)),
          ),
        ),
      ),
    ),
  );
}

export async function alertsPage(app: HTMLElement): Promise<() => void> {
  const reply = await getJson<AlertsReply>("alerts");
  show(app, h("h1", {}, "Alerts"), incidents(reply.open, reply.now, "Open incidents", "open-alerts"), messages(reply.log, "Last 100 alerts sent (newest first)", "alert-log"));
  return () => {};
}
