// The agent's side of the report table: before a report leaves the host it is made to fit what the
// server accepts, so one odd item (a 300-character FUSE device name) never makes the whole report a 400.
// Strings are cut to their limit; a listed item that still breaks the table is dropped; numbers of
// the fixed sections are clamped into range; lists beyond the row limit are trimmed, least busy first
// (processes are folded into `rest`, so the totals still add up). Every drop is counted in
// collector_errors.
import { checkField, MAX_ROWS_PER_REPORT, REPORT, ReportError, rowCount, type ArrayField, type Field, type ProcessRecord, type Report } from "./report.ts";

/** Cuts `s` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function cutString(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate whose pair would be cut off
  return s.slice(0, end);
}

/** A copy of `report` the server will accept; drops are counted in its collector_errors. */
export function fitReport(report: Report): Report {
  const errors: Record<string, number> = { ...report.collector_errors };
  const count = (kind: string, n = 1) => {
    errors[kind] = (errors[kind] ?? 0) + n;
  };
  const fitted = fit(REPORT, report, "report", count) as Report;
  trimRows(fitted, count);
  fitted.collector_errors = fit(REPORT.fields.collector_errors, errors, "report.collector_errors", count) as Record<string, number>;
  return fitted;
}

type Count = (kind: string, n?: number) => void;

function fit(field: Field, v: unknown, path: string, count: Count): unknown {
  switch (field.kind) {
    case "string":
      return typeof v === "string" && !field.pattern ? cutString(v, field.maxLength) : v;
    case "int":
    case "number": {
      if (typeof v !== "number") return v;
      if (Number.isNaN(v)) {
        count("value_clamped");
        return field.min;
      }
      const clamped = Math.min(field.max, Math.max(field.min, v));
      if (clamped !== v) count("value_clamped");
      return field.kind === "int" ? Math.round(clamped) : clamped;
    }
    case "nullable":
      return v === null ? null : fit(field.of, v, path, count);
    case "optional":
      return v === undefined ? v : fit(field.of, v, path, count);
    case "object": {
      if (typeof v !== "object" || v === null) return v;
      const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
      for (const [k, f] of Object.entries(field.fields as Record<string, Field>)) if (k in out) out[k] = fit(f, out[k], `${path}.${k}`, count);
      return out;
    }
    case "array": {
      if (!Array.isArray(v)) return v;
      const name = path.slice(path.lastIndexOf(".") + 1);
      const kept: unknown[] = [];
      for (const item of v) {
        const fitted = fitItem(field.of, item);
        if (fitted === undefined) count(`dropped_${name}`);
        else kept.push(fitted);
      }
      return kept;
    }
    case "map": {
      if (typeof v !== "object" || v === null) return v;
      const out: Record<string, unknown> = {};
      let n = 0;
      for (const [k, x] of Object.entries(v)) {
        if (n >= field.maxKeys || k.length > field.maxKeyLength) continue;
        out[k] = field.of.kind === "scalar" && typeof x === "string" ? cutString(x, field.of.maxLength) : x;
        n++;
      }
      return out;
    }
    default:
      return v;
  }
}

/** A listed item with its strings cut; undefined when it still breaks the table (e.g. a NaN rate). */
function fitItem(field: Field, item: unknown): unknown {
  const cut = cutStrings(field, item);
  try {
    checkField(field, cut, "item");
    return cut;
  } catch (e) {
    if (e instanceof ReportError) return undefined;
    throw e;
  }
}

function cutStrings(field: Field, v: unknown): unknown {
  if (field.kind === "string") return typeof v === "string" && !field.pattern ? cutString(v, field.maxLength) : v;
  if (field.kind === "nullable") return v === null ? null : cutStrings(field.of, v);
  if (field.kind === "object" && typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    for (const [k, f] of Object.entries(field.fields as Record<string, Field>)) if (k in out) out[k] = cutStrings(f, out[k]);
    return out;
  }
  return v;
}

/**
 * Brings each list under its limit and the report under MAX_ROWS_PER_REPORT: the least busy go first,
 * connections before processes; processes are folded into rest, so the host totals stay whole.
 */
function trimRows(r: Report, count: Count): void {
  const busy = (x: { rx_bytes_per_s: number; tx_bytes_per_s: number }) => x.rx_bytes_per_s + x.tx_bytes_per_s;
  const limit = (name: "processes" | "connections" | "listen_ports" | "unattributed") => (REPORT.fields[name] as ArrayField).maxItems;
  const systemLimit = (name: "filesystems" | "disks" | "interfaces") => (REPORT.fields.system.fields[name] as ArrayField).maxItems;
  const keepBusiest = <T>(xs: T[], n: number, by: (x: T) => number, name: string): T[] => {
    if (xs.length <= n) return xs;
    count(`dropped_${name}`, xs.length - n);
    return [...xs].sort((a, b) => by(b) - by(a)).slice(0, Math.max(0, n));
  };
  const foldProcesses = (n: number) => {
    if (r.processes.length <= n) return;
    const ranked = [...r.processes].sort((a, b) => b.cpu_pct - a.cpu_pct || b.rss_bytes - a.rss_bytes);
    foldIntoRest(r, ranked.slice(n));
    count("folded_processes", ranked.length - n);
    r.processes = ranked.slice(0, n).sort((a, b) => a.pid - b.pid);
  };

  foldProcesses(limit("processes"));
  r.connections = keepBusiest(r.connections, limit("connections"), busy, "connections");
  r.listen_ports = keepBusiest(r.listen_ports, limit("listen_ports"), busy, "listen_ports");
  r.unattributed = keepBusiest(r.unattributed, limit("unattributed"), busy, "unattributed");
  r.system.filesystems = keepBusiest(r.system.filesystems, systemLimit("filesystems"), (f) => f.total_bytes, "filesystems");
  r.system.disks = keepBusiest(r.system.disks, systemLimit("disks"), (d) => d.util_pct, "disks");
  r.system.interfaces = keepBusiest(r.system.interfaces, systemLimit("interfaces"), busy, "interfaces");

  let over = rowCount(r) - MAX_ROWS_PER_REPORT;
  if (over <= 0) return;
  const shrink = <T>(xs: T[], by: (x: T) => number, name: string): T[] => {
    const kept = keepBusiest(xs, xs.length - Math.min(over, xs.length), by, name);
    over -= xs.length - kept.length;
    return kept;
  };
  r.connections = shrink(r.connections, busy, "connections");
  if (over > 0) {
    const n = Math.min(over, r.processes.length);
    foldProcesses(r.processes.length - n);
    over -= n;
  }
  if (over > 0) r.listen_ports = shrink(r.listen_ports, busy, "listen_ports");
  if (over > 0) r.unattributed = shrink(r.unattributed, busy, "unattributed");
  if (over > 0) r.system.disks = shrink(r.system.disks, (d) => d.util_pct, "disks");
  if (over > 0) r.system.filesystems = shrink(r.system.filesystems, (f) => f.total_bytes, "filesystems");
}

function foldIntoRest(r: Report, folded: ProcessRecord[]): void {
  const rest = { ...r.rest };
  for (const p of folded) {
    rest.count++;
    rest.cpu_pct += p.cpu_pct;
    rest.rss_bytes += p.rss_bytes;
    rest.read_bytes_per_s += p.read_bytes_per_s;
    rest.write_bytes_per_s += p.write_bytes_per_s;
    rest.net_rx_bytes_per_s += p.net_rx_bytes_per_s;
    rest.net_tx_bytes_per_s += p.net_tx_bytes_per_s;
  }
  r.rest = fit(REPORT.fields.rest, rest, "report.rest", () => {}) as Report["rest"];
}
