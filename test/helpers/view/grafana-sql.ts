// Expands a Grafana MySQL panel query the way Grafana's MySQL data source does before it reaches the
// database: template variables first (frontend), then the $__ macros (backend, pkg/tsdb/mysql/macros.go).

export interface GrafanaRange {
  /** epoch seconds */
  from: number;
  to: number;
  /** the panel's $__interval, e.g. "1m" */
  interval: string;
}

export interface GrafanaVariable {
  /** the selected values; several when multi or "All" */
  values: string[];
  /** Grafana quotes the values of multi-value / include-all variables and leaves single ones raw */
  multi: boolean;
}

/** "5m" -> 300 */
export function intervalSeconds(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(text.trim().replace(/^'|'$/g, ""));
  if (!m) throw new Error(`bad interval ${text}`);
  const n = Number(m[1]);
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  return Math.max(1, Math.round(n * unit[m[2]!]!));
}

const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;

function interpolateVariables(sql: string, vars: Record<string, GrafanaVariable>, range: GrafanaRange): string {
  const builtin: Record<string, string> = {
    __interval: range.interval,
    __interval_ms: String(intervalSeconds(range.interval) * 1000),
    __from: String(range.from * 1000),
    __to: String(range.to * 1000),
  };
  return sql.replace(/\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a, fmt, b, c) => {
    const name = (a ?? b ?? c) as string;
    if (name.startsWith("__") && !(name in builtin)) return whole; // a macro, not a variable
    if (name in builtin) return builtin[name]!;
    const v = vars[name];
    if (!v) throw new Error(`panel uses an unknown variable $${name}`);
    if (fmt === "raw") return v.values.join(",");
    if (fmt === "sqlstring" || v.multi) return v.values.map(quote).join(",");
    return v.values.join(",");
  });
}

/** Splits "a, 'b, c', f(x, y)" at top-level commas. */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoteChar = "";
  let cur = "";
  for (const ch of text) {
    if (quoteChar) {
      if (ch === quoteChar) quoteChar = "";
    } else if (ch === "'" || ch === '"') quoteChar = ch;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur.trim() !== "") out.push(cur.trim());
  return out;
}

function expandMacros(sql: string, range: GrafanaRange): string {
  const macro = /\$__(\w+)\(/g;
  let out = "";
  let last = 0;
  for (let m = macro.exec(sql); m; m = macro.exec(sql)) {
    // find the matching close paren
    let depth = 1;
    let i = m.index + m[0].length;
    for (; i < sql.length && depth > 0; i++) {
      if (sql[i] === "(") depth++;
      else if (sql[i] === ")") depth--;
    }
    const args = splitArgs(sql.slice(m.index + m[0].length, i - 1));
    out += sql.slice(last, m.index) + expandOne(m[1]!, args, range);
    last = i;
    macro.lastIndex = i;
  }
  return out + sql.slice(last);
}

function expandOne(name: string, args: string[], r: GrafanaRange): string {
  const need = (n: number) => {
    if (args.length < n) throw new Error(`$__${name} needs ${n} argument(s), got ${args.length}`);
  };
  switch (name) {
    case "time":
      need(1);
      return `UNIX_TIMESTAMP(${args[0]}) as time_sec`;
    case "timeEpoch":
      need(1);
      return `UNIX_TIMESTAMP(${args[0]}) as time_sec`;
    case "timeFilter":
      need(1);
      return `${args[0]} BETWEEN FROM_UNIXTIME(${r.from}) AND FROM_UNIXTIME(${r.to})`;
    case "timeFrom":
      return `FROM_UNIXTIME(${r.from})`;
    case "timeTo":
      return `FROM_UNIXTIME(${r.to})`;
    case "timeGroup":
    case "timeGroupAlias": {
      need(2);
      const s = intervalSeconds(args[1]!);
      const expr = `UNIX_TIMESTAMP(${args[0]}) DIV ${s} * ${s}`;
      return name === "timeGroupAlias" ? `${expr} AS "time"` : expr;
    }
    case "unixEpochFilter":
      need(1);
      return `${args[0]} >= ${r.from} AND ${args[0]} <= ${r.to}`;
    case "unixEpochNanoFilter":
      need(1);
      return `${args[0]} >= ${r.from * 1e9} AND ${args[0]} <= ${r.to * 1e9}`;
    case "unixEpochFrom":
      return String(r.from);
    case "unixEpochTo":
      return String(r.to);
    case "unixEpochGroup":
    case "unixEpochGroupAlias": {
      need(2);
      const s = intervalSeconds(args[1]!);
      const expr = `${args[0]} DIV ${s} * ${s}`;
      return name === "unixEpochGroupAlias" ? `${expr} AS "time"` : expr;
    }
    default:
      throw new Error(`unknown Grafana macro $__${name}`);
  }
}

/** The SQL MySQL receives for a panel target. */
export function expandGrafanaSql(sql: string, vars: Record<string, GrafanaVariable>, range: GrafanaRange): string {
  return expandMacros(interpolateVariables(sql, vars, range), range);
}

/** MySQL's `col->'$.x'` and `col->>'$.x'` for MariaDB, which has neither operator. */
export function rewriteJsonArrows(sql: string): string {
  return sql
    .replace(/([\w.]+)\s*->>\s*('[^']*')/g, "JSON_UNQUOTE(JSON_EXTRACT($1,$2))")
    .replace(/([\w.]+)\s*->\s*('[^']*')/g, "JSON_EXTRACT($1,$2)");
}

export interface PanelTarget {
  panel: string;
  type: string;
  format: string;
  rawSql: string;
}

/** Every SQL target of a dashboard, rows included, with the panel's type and the target's format. */
export function panelTargets(dashboard: { panels?: unknown[] }): PanelTarget[] {
  const out: PanelTarget[] = [];
  const walk = (panels: unknown[]) => {
    for (const p of panels as Array<{ type: string; title: string; panels?: unknown[]; targets?: Array<{ rawSql?: string; format?: string; hide?: boolean }> }>) {
      if (p.type === "row") walk(p.panels ?? []);
      for (const t of p.targets ?? []) {
        if (t.rawSql && !t.hide) out.push({ panel: p.title, type: p.type, format: t.format ?? "time_series", rawSql: t.rawSql });
      }
    }
  };
  walk(dashboard.panels ?? []);
  return out;
}
