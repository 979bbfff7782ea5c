// `pmon config import`: the old tool's config.ini (Python configparser format: [section], key = value,
// # or ; comments, keys case-insensitive, surrounding quotes stripped) turned into pmon.toml values.
// Pure: text in, TOML text plus the list of what mapped and what did not out. Credentials (the MySQL
// password, the robot's key) are written to the TOML but never into the printable lists.
import { stringify } from "smol-toml";

export interface Mapping {
  /** "section.key" of config.ini */
  from: string;
  /** the old value as shown to the operator, any credential masked */
  old: string;
  /** the pmon key(s) it became */
  to: string;
  /** the new value as shown, any credential masked */
  value: string;
}

export interface Unmapped {
  from: string;
  why: string;
}

export interface ImportResult {
  toml: string;
  mapped: Mapping[];
  unmapped: Unmapped[];
}

export class IniError extends Error {
  override name = "IniError";
}

/** section -> key -> value; keys lower-cased like configparser does. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  let lastKey: string | undefined;
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    if (/^\s*([#;]|$)/.test(raw)) continue;
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      const name = header[1]!.trim();
      section = out.get(name) ?? new Map();
      out.set(name, section);
      lastKey = undefined;
      continue;
    }
    // an indented line continues the previous value (configparser's multi-line values)
    if (/^\s/.test(raw) && section && lastKey !== undefined) {
      section.set(lastKey, `${section.get(lastKey)}\n${raw.trim()}`);
      continue;
    }
    const kv = /^\s*([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    if (!kv || !section) throw new IniError(`line ${n + 1}: expected [section] or key = value, got "${raw.trim().slice(0, 80)}"`);
    lastKey = kv[1]!.toLowerCase();
    section.set(lastKey, kv[2]!.trim());
  }
  return out;
}

/** The old tool stripped one pair of surrounding quotes from every value. */
const unquote = (v: string) => (/^(['"]).*\1$/s.test(v) && v.length >= 2 ? v.slice(1, -1) : v);

const DEFAULT_TABLES: Record<string, string> = {
  host_info: "tb_monitor_host_info",
  disk_info: "tb_monitor_disk_info",
  port_net_info: "tb_monitor_port_net_info",
  process_info: "tb_monitor_process_info",
  process_io_info: "tb_monitor_process_io_info",
  host_config: "tb_monitor_host_config",
  alert_info: "tb_monitor_alert_info",
  version_info: "tb_monitor_version",
  util_qu_info: "tb_monitor_disk_util_qu_info",
};

const NOT_NEEDED: Record<string, string> = {
  "global.version": "pmon records its own version in tb_monitor_version and upgrades agents itself",
  "global.log_file": "the server logs to stderr (journald); agents log to agent.log_file on their host",
  "global.log_size": "the server's log is rotated by journald; agents cap theirs with agent.log_max_mb",
  "global.script_dir": "pmon installs its agent in deploy.install_dir (default /opt/pmon)",
  "client.path": "the pmon agent is one binary and needs no PATH",
  "client.python3": "the pmon agent needs no Python",
  "client.py3env": "the pmon agent needs no Python",
};

/** The robot URL with its key masked. */
function maskUrl(url: string): string {
  return url.replace(/([?&](?:key|access_token)=)[^&]*/gi, "$1***");
}

export function importOldConfig(text: string, opts: { port?: number; source?: string } = {}): ImportResult {
  const ini = parseIni(text);
  const get = (section: string, key: string): string | undefined => {
    for (const [name, keys] of ini) if (name.toLowerCase() === section.toLowerCase() && keys.has(key)) return unquote(keys.get(key)!);
    return undefined;
  };
  const used = new Set<string>();
  const mapped: Mapping[] = [];
  const unmapped: Unmapped[] = [];
  const doc: Record<string, Record<string, unknown>> = {};
  const put = (key: string, value: unknown) => {
    const [section, name] = key.split(".") as [string, string];
    (doc[section] ??= {})[name] = value;
  };

  const number = (section: string, key: string, to: string, convert: (n: number) => number, describe: (n: number) => string, integer = false) => {
    const raw = get(section, key);
    const from = `${section}.${key}`;
    used.add(from.toLowerCase());
    if (raw === undefined) return;
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n) || n < 0) return void unmapped.push({ from, why: `"${raw}" is not a number` });
    const v = convert(n);
    if (integer && !Number.isInteger(v)) return void unmapped.push({ from, why: `"${raw}" is not a whole number` });
    put(to, v);
    mapped.push({ from, old: raw, to, value: describe(v) });
  };

  number("global", "interval_time", "agent.interval_s", (n) => n, (v) => `${v} s`, true);
  number("global", "retention_day", "server.retention_days", (n) => n, (v) => `${v} days`, true);
  number("RULE", "cpu", "thresholds.process_cpu_pct", (n) => n, (v) => `${v} % of one core`);
  number("RULE", "mem", "thresholds.process_mem_gib", (n) => n, (v) => `${v} GiB`);
  // the old io and net thresholds were KB/s and KB per sample; pmon's are MiB/s
  number("RULE", "io", "thresholds.disk_io_mib_s", (n) => n / 1024, (v) => `${v} MiB/s`);
  number("RULE", "net", "thresholds.net_mib_s", (n) => n / 1024, (v) => `${v} MiB/s`);
  number("RULE", "avgqu", "thresholds.disk_avgqu", (n) => n, (v) => `${v}`);
  number("RULE", "util", "thresholds.disk_util_pct", (n) => n, (v) => `${v} %`);

  const mount = get("global", "mount_part");
  used.add("global.mount_part");
  if (mount !== undefined) {
    const mounts = mount.trim() ? [mount.trim()] : [];
    put("agent.mounts", mounts);
    mapped.push({ from: "global.mount_part", old: mount || '""', to: "agent.mounts", value: mounts.length ? `["${mounts[0]}"]` : "[] (every filesystem)" });
  }

  const wx = get("MSM", "wx_url");
  used.add("msm.wx_url");
  if (wx !== undefined && wx.trim()) {
    if (/^https?:\/\//.test(wx.trim())) {
      (doc.alerts ??= {}).channels = [{ type: "wecom", url: wx.trim() }];
      mapped.push({ from: "MSM.wx_url", old: maskUrl(wx.trim()), to: "[[alerts.channels]]", value: `type "wecom", the same URL` });
    } else unmapped.push({ from: "MSM.wx_url", why: "not an http(s) URL" });
  }

  // The old server took its port from the command line (start_server.sh --port); a config.ini may carry one too.
  used.add("global.port");
  const portText = get("global", "port");
  const port = opts.port ?? (portText === undefined ? undefined : Number(portText));
  if (port !== undefined) {
    if (Number.isInteger(port) && port >= 1 && port <= 65535) {
      put("server.listen", `0.0.0.0:${port}`);
      put("server.url", `http://127.0.0.1:${port}`);
      mapped.push({ from: opts.port !== undefined ? "--port" : "global.port", old: String(port), to: "server.listen, server.url", value: `0.0.0.0:${port}, http://127.0.0.1:${port}` });
    } else unmapped.push({ from: opts.port !== undefined ? "--port" : "global.port", why: `"${opts.port ?? portText}" is not a port number` });
  } else {
    unmapped.push({ from: "port", why: "config.ini has none (the old server took it from --port in start_server.sh): pass --port, else pmon listens on 9300 like the old default" });
  }

  // [Monitor]: the MySQL connection becomes server.storage; its table names must be the standard ones.
  const host = get("Monitor", "mysql_host");
  const user = get("Monitor", "mysql_user");
  const pass = get("Monitor", "mysql_pass");
  const dbName = get("Monitor", "mysql_db");
  const mport = get("Monitor", "mysql_port");
  for (const k of ["mysql_host", "mysql_user", "mysql_pass", "mysql_db", "mysql_port"]) used.add(`monitor.${k}`);
  if (host && user && dbName) {
    if (mport !== undefined && mport !== "" && !/^\d+$/.test(mport)) {
      unmapped.push({ from: "Monitor.mysql_port", why: `"${mport}" is not a port number; server.storage not written` });
    } else {
      const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
      const auth = `${encodeURIComponent(user)}${pass ? `:${encodeURIComponent(pass)}` : ""}`;
      const where = `${hostPart}:${mport || "3306"}/${encodeURIComponent(dbName)}`;
      put("server.storage", `mysql://${auth}@${where}`);
      const shown = `mysql://${encodeURIComponent(user)}${pass ? ":***" : ""}@${where}`;
      mapped.push({ from: "Monitor.mysql_*", old: `${user}${pass ? " (password ***)" : ""} @ ${host}:${mport || "3306"}/${dbName}`, to: "server.storage", value: shown });
    }
  } else if (host || user || dbName || pass) {
    unmapped.push({ from: "Monitor.mysql_*", why: "mysql_host, mysql_user and mysql_db are all needed; server.storage not written" });
  }
  for (const [key, table] of Object.entries(DEFAULT_TABLES)) {
    used.add(`monitor.${key}`);
    const v = get("Monitor", key);
    if (v !== undefined && v !== table) unmapped.push({ from: `Monitor.${key}`, why: `pmon always uses the table ${table}, not ${v}: rename the table before pointing pmon at this database` });
  }

  for (const [section, keys] of ini) {
    for (const key of keys.keys()) {
      const from = `${section}.${key}`;
      if (used.has(from.toLowerCase())) continue;
      unmapped.push({ from, why: NOT_NEEDED[from.toLowerCase()] ?? "unknown to pmon" });
    }
  }

  const header = [
    `# Written by \`pmon config import\`${opts.source ? ` from ${opts.source}` : ""}. Every other key keeps its default:`,
    "# see the commented pmon.toml shipped with pmon for all of them.",
    "",
  ].join("\n");
  // table order: the sections pmon's own file uses
  const ordered: Record<string, unknown> = {};
  for (const s of ["agent", "thresholds", "server", "deploy", "alerts", "log"]) if (doc[s]) ordered[s] = doc[s];
  return { toml: header + stringify(ordered) + "\n", mapped, unmapped };
}
