// The report an agent sends each interval: wire types and their validation.
// Units are in the field names; times are epoch milliseconds (UTC); rates are per second over the sample window.

export const PROTOCOL_VERSION = 1;

export interface ProcessRecord {
  pid: number;
  /** epoch ms; pid + start_time is the identity of a process */
  start_time: number;
  ppid: number;
  user: string;
  comm: string;
  cmdline: string;
  /** what tells this instance apart from its siblings: listening ports, --port, --defaults-file, ... ("" if nothing) */
  instance: string;
  /** 100 = one full core */
  cpu_pct: number;
  rss_bytes: number;
  read_bytes_per_s: number;
  write_bytes_per_s: number;
  net_rx_bytes_per_s: number;
  net_tx_bytes_per_s: number;
  threads: number;
}

/** What the host used beyond the kept processes, so kept + rest add up to the host totals. */
export interface RestRecord {
  count: number;
  cpu_pct: number;
  rss_bytes: number;
  read_bytes_per_s: number;
  write_bytes_per_s: number;
  net_rx_bytes_per_s: number;
  net_tx_bytes_per_s: number;
}

export interface CpuStats {
  count: number;
  load1: number;
  load5: number;
  load15: number;
  user_pct: number;
  system_pct: number;
  idle_pct: number;
  iowait_pct: number;
  steal_pct: number;
}

export interface MemoryStats {
  total_bytes: number;
  used_bytes: number;
  available_bytes: number;
  swap_total_bytes: number;
  swap_used_bytes: number;
}

export interface FilesystemStats {
  device: string;
  mount: string;
  fstype: string;
  total_bytes: number;
  used_bytes: number;
  free_bytes: number;
}

export interface DiskStats {
  /** kernel name, e.g. "sda", "nvme0n1" */
  device: string;
  read_bytes_per_s: number;
  write_bytes_per_s: number;
  util_pct: number;
  avgqu: number;
}

export interface InterfaceStats {
  name: string;
  rx_bytes_per_s: number;
  tx_bytes_per_s: number;
  /** Mb/s, null where the kernel does not know */
  speed_mbps: number | null;
}

export interface ConnectionRecord {
  /** null when no process was ever seen owning the socket */
  pid: number | null;
  /** "ip:port"; IPv6 as "[addr]:port" */
  local: string;
  remote: string;
  rx_bytes_per_s: number;
  tx_bytes_per_s: number;
}

/** Traffic of all connections accepted on one listening port ("the 3306 instance"). */
export interface ListenPortRecord {
  port: number;
  pid: number | null;
  connections: number;
  rx_bytes_per_s: number;
  tx_bytes_per_s: number;
}

/** An interface's traffic that no socket accounts for (UDP, ICMP, sockets that lived too briefly). */
export interface UnattributedRecord {
  interface: string;
  rx_bytes_per_s: number;
  tx_bytes_per_s: number;
}

export interface SystemStats {
  cpu: CpuStats;
  memory: MemoryStats;
  filesystems: FilesystemStats[];
  disks: DiskStats[];
  interfaces: InterfaceStats[];
}

export interface Report {
  v: typeof PROTOCOL_VERSION;
  /** unique per report (the agent's boot id + sequence); the server stores a report id once */
  id: string;
  host: string;
  agent_version: string;
  /** end of the sample window, agent clock */
  time: number;
  /** length of the sample window */
  interval_ms: number;
  system: SystemStats;
  processes: ProcessRecord[];
  rest: RestRecord;
  connections: ConnectionRecord[];
  listen_ports: ListenPortRecord[];
  unattributed: UnattributedRecord[];
  /** what this kernel and these privileges let the agent collect */
  capabilities: Record<string, boolean | number | string>;
  /** files or steps that failed, by kind, with counts */
  collector_errors: Record<string, number>;
}

/** A report that breaks the schema; `field` is the JSON path of the first bad value. */
export class ReportError extends Error {
  override name = "ReportError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

// --- validation: a small structural checker, so a bad report names the field that broke it ---

type Check = (v: unknown, path: string) => void;

const num = (min = -Infinity, max = Infinity): Check => (v, p) => {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ReportError(p, `expected a number, got ${typeName(v)}`);
  if (v < min || v > max) throw new ReportError(p, `out of range (${min}..${max}): ${v}`);
};
const nonneg = num(0);
const int = (min = 0, max = Number.MAX_SAFE_INTEGER): Check => (v, p) => {
  num(min, max)(v, p);
  if (!Number.isInteger(v)) throw new ReportError(p, `expected an integer, got ${v}`);
};
const str = (maxLen: number): Check => (v, p) => {
  if (typeof v !== "string") throw new ReportError(p, `expected a string, got ${typeName(v)}`);
  if (v.length > maxLen) throw new ReportError(p, `longer than ${maxLen} characters`);
};
const nullable = (c: Check): Check => (v, p) => {
  if (v !== null) c(v, p);
};
const array = (item: Check, maxItems: number): Check => (v, p) => {
  if (!Array.isArray(v)) throw new ReportError(p, `expected an array, got ${typeName(v)}`);
  if (v.length > maxItems) throw new ReportError(p, `more than ${maxItems} items`);
  v.forEach((x, i) => item(x, `${p}[${i}]`));
};
const object = (shape: Record<string, Check>): Check => (v, p) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ReportError(p, `expected an object, got ${typeName(v)}`);
  for (const [k, c] of Object.entries(shape)) {
    if (!(k in v)) throw new ReportError(`${p}.${k}`, "missing");
    c((v as Record<string, unknown>)[k], `${p}.${k}`);
  }
};
const record = (value: Check, maxKeys: number): Check => (v, p) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ReportError(p, `expected an object, got ${typeName(v)}`);
  const entries = Object.entries(v);
  if (entries.length > maxKeys) throw new ReportError(p, `more than ${maxKeys} keys`);
  for (const [k, x] of entries) value(x, `${p}.${k}`);
};
const scalar: Check = (v, p) => {
  if (!["boolean", "number", "string"].includes(typeof v)) throw new ReportError(p, `expected a boolean, number or string, got ${typeName(v)}`);
};

const rates = { rx_bytes_per_s: nonneg, tx_bytes_per_s: nonneg };
const endpoint = str(64);

const checkReport = object({
  v: (v, p) => {
    if (v !== PROTOCOL_VERSION) throw new ReportError(p, `unsupported protocol version ${JSON.stringify(v)} (this server speaks ${PROTOCOL_VERSION})`);
  },
  id: str(128),
  host: (v, p) => {
    str(255)(v, p);
    if (!HOST_RE.test(v as string)) throw new ReportError(p, `not a valid host name or address: ${JSON.stringify(v)}`);
  },
  agent_version: str(64),
  time: int(0),
  interval_ms: int(1, 86_400_000),
  system: object({
    cpu: object({
      count: int(1, 1_000_000),
      load1: nonneg,
      load5: nonneg,
      load15: nonneg,
      user_pct: num(0, 100),
      system_pct: num(0, 100),
      idle_pct: num(0, 100),
      iowait_pct: num(0, 100),
      steal_pct: num(0, 100),
    }),
    memory: object({ total_bytes: nonneg, used_bytes: nonneg, available_bytes: nonneg, swap_total_bytes: nonneg, swap_used_bytes: nonneg }),
    filesystems: array(object({ device: str(255), mount: str(4096), fstype: str(64), total_bytes: nonneg, used_bytes: nonneg, free_bytes: nonneg }), 10_000),
    disks: array(object({ device: str(255), read_bytes_per_s: nonneg, write_bytes_per_s: nonneg, util_pct: nonneg, avgqu: nonneg }), 10_000),
    interfaces: array(object({ name: str(64), ...rates, speed_mbps: nullable(nonneg) }), 10_000),
  }),
  processes: array(
    object({
      pid: int(1),
      start_time: int(0),
      ppid: int(0),
      user: str(256),
      comm: str(64),
      cmdline: str(65_536),
      instance: str(1024),
      cpu_pct: nonneg,
      rss_bytes: nonneg,
      read_bytes_per_s: nonneg,
      write_bytes_per_s: nonneg,
      net_rx_bytes_per_s: nonneg,
      net_tx_bytes_per_s: nonneg,
      threads: int(0),
    }),
    100_000,
  ),
  rest: object({
    count: int(0),
    cpu_pct: nonneg,
    rss_bytes: nonneg,
    read_bytes_per_s: nonneg,
    write_bytes_per_s: nonneg,
    net_rx_bytes_per_s: nonneg,
    net_tx_bytes_per_s: nonneg,
  }),
  connections: array(object({ pid: nullable(int(1)), local: endpoint, remote: endpoint, ...rates }), 100_000),
  listen_ports: array(object({ port: int(0, 65535), pid: nullable(int(1)), connections: int(0), ...rates }), 100_000),
  unattributed: array(object({ interface: str(64), ...rates }), 10_000),
  capabilities: record(scalar, 1000),
  collector_errors: record(int(0), 1000),
});

/** Host names and addresses: letters, digits, dot, dash, underscore, colon (IPv6). */
/** A host name or address: starts with a letter or digit (never "-", so ssh cannot take it for an option). */
export const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/;

/** Checks a parsed JSON value against the report schema; throws ReportError naming the first bad field. */
export function decodeReport(value: unknown): Report {
  checkReport(value, "report");
  return value as Report;
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}
