// The alerts page: open incidents and the 100 incidents with the newest alert or recovery.
import type { AlertRow } from "../../store/alerts.ts";
import { formatAge, formatUtc } from "../../util/time.ts";
import { getJson } from "./api.ts";
import { dash, h, show } from "./dom.ts";
import { hostLink } from "./fleet.ts";

interface AlertsReply {
  now: number;
  open: AlertRow[];
  recent: AlertRow[];
}

const when = (ms: number | null) => (ms === null ? "-" : `${formatUtc(ms)} UTC`);

function table(rows: AlertRow[], now: number, caption: string, id: string): HTMLElement {
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

export async function alertsPage(app: HTMLElement): Promise<() => void> {
  const reply = await getJson<AlertsReply>("alerts");
  show(app, h("h1", {}, "Alerts"), table(reply.open, reply.now, "Open incidents", "open-alerts"), table(reply.recent, reply.now, "Last 100 alerts (newest first)", "recent-alerts"));
  return () => {};
}
