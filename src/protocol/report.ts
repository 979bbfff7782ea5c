// The report an agent sends each interval, as ONE table: every field's type, unit and limits.
// The TypeScript types, the server's validator (decodeReport) and the agent's fitting (fitReport)
// are all derived from it, so agent and server can never disagree on what may be sent.
// Times are epoch milliseconds (UTC); rates are per second over the sample window.
//
// The limits are constants of the protocol, not configuration: both sides must know them. They are
// chosen so that every value that passes fits its database column (src/store/schema.ts), e.g. pid in
// a signed 32-bit int, rates in a MySQL FLOAT after the KB/s conversion, times in a DATETIME.

export const PROTOCOL_VERSION = 1;

/** Largest pid Linux can hand out (PID_MAX_LIMIT on 64-bit kernels); also bounds threads and counts. */
export const MAX_PID = 4_194_304;
/** Rows one report may become in the store; the agent folds or drops what is beyond it. */
export const MAX_ROWS_PER_REPORT = 2_000;
/** How old a spooled report may be when it is finally sent: the largest agent.spool_max_age_h. */
export const MAX_REPORT_AGE_MS = 365 * 24 * 3_600_000;
/** Earliest and latest epoch ms a time field may hold (a DATETIME ends at 9999-12-31). */
export const MIN_TIME_MS = Date.UTC(2000, 0, 1);
export const MAX_TIME_MS = Date.UTC(9999, 11, 31);
/** Largest byte count (1 EiB): exact in a double, far inside a signed 64-bit column. */
export const MAX_BYTES = 2 ** 60;
/** Largest byte rate (1 PiB/s): still a finite MySQL FLOAT once turned into KB/s. */
export const MAX_BYTES_PER_S = 2 ** 50;
/** CPUs a host may have; a process's cpu_pct is at most 100 per CPU. */
export const MAX_CPUS = 65_536;
/** Largest value of a signed 32-bit column. */
export const MAX_INT32 = 2 ** 31 - 1;

// --- the field kinds the table is written in ---

export interface IntField {
  kind: "int";
  unit: string;
  min: number;
  max: number;
}
export interface NumberField {
  kind: "number";
  unit: string;
  min: number;
  max: number;
}
export interface StringField {
  kind: "string";
  maxLength: number;
  /** a value must match this whole (cannot be cut to fit) */
  pattern?: RegExp;
  /** what the pattern means, for the error message */
  patternName?: string;
}
export interface LiteralField<V extends number = number> {
  kind: "literal";
  value: V;
}
export interface NullableField<F extends Field = Field> {
  kind: "nullable";
  of: F;
}
export interface ObjectField<S extends Record<string, Field> = Record<string, Field>> {
  kind: "object";
  fields: S;
}
export interface ArrayField<F extends Field = Field> {
  kind: "array";
  of: F;
  maxItems: number;
  /** each item becomes a database row: counts toward MAX_ROWS_PER_REPORT */
  rows: boolean;
}
export interface MapField<F extends Field = Field> {
  kind: "map";
  of: F;
  maxKeys: number;
  maxKeyLength: number;
}
export interface ScalarField {
  kind: "scalar";
  /** longest string value */
  maxLength: number;
}
export interface BooleanField {
  kind: "boolean";
}
/** A field older agents do not send (their spooled reports must still be accepted): checked when present. */
export interface OptionalField<F extends Field = Field> {
  kind: "optional";
  of: F;
}
export type Field = IntField | NumberField | StringField | LiteralField | NullableField<any> | ObjectField<any> | ArrayField<any> | MapField<any> | ScalarField | BooleanField | OptionalField<any>;

/** The TypeScript type a field describes. */
export type TypeOf<F> = F extends IntField | NumberField
  ? number
  : F extends StringField
    ? string
    : F extends LiteralField<infer V>
      ? V
      : F extends NullableField<infer O>
        ? TypeOf<O> | null
        : F extends ObjectField<infer S>
          ? { [K in keyof S as S[K] extends OptionalField ? never : K]: TypeOf<S[K]> } & { [K in keyof S as S[K] extends OptionalField ? K : never]?: TypeOf<S[K]> }
          : F extends ArrayField<infer O>
            ? TypeOf<O>[]
            : F extends MapField<infer O>
              ? Record<string, TypeOf<O>>
              : F extends ScalarField
                ? boolean | number | string
                : F extends BooleanField
                  ? boolean
                  : F extends OptionalField<infer O>
                    ? TypeOf<O>
                    : never;

const int = (unit: string, min: number, max: number): IntField => ({ kind: "int", unit, min, max });
const num = (unit: string, min: number, max: number): NumberField => ({ kind: "number", unit, min, max });
const str = (maxLength: number): StringField => ({ kind: "string", maxLength });
const nullable = <F extends Field>(of: F): NullableField<F> => ({ kind: "nullable", of });
const object = <S extends Record<string, Field>>(fields: S): ObjectField<S> => ({ kind: "object", fields });
const list = <F extends Field>(of: F, maxItems: number, rows: boolean): ArrayField<F> => ({ kind: "array", of, maxItems, rows });
const optional = <F extends Field>(of: F): OptionalField<F> => ({ kind: "optional", of });
const bool: BooleanField = { kind: "boolean" };

const bytes = num("bytes", 0, MAX_BYTES);
const rate = num("bytes/s", 0, MAX_BYTES_PER_S);
const pct = num("%", 0, 100);
const time = int("epoch ms", MIN_TIME_MS, MAX_TIME_MS);
const pid = int("pid", 1, MAX_PID);
/** "ip:port"; IPv6 as "[addr]:port" */
const endpoint = str(64);

/** A host name or address: a letter or digit first (never "-", so ssh cannot take it for an option), then letters, digits, dot, dash, underscore, colon (IPv6). */
export const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/;

// --- the table ---

/** The figures of one process and of the rest alike, so kept + rest add up to the host, field by field. */
const USAGE = {
  /** 100 = one full core */
  cpu_pct: num("% of one core", 0, 100 * MAX_CPUS),
  rss_bytes: bytes,
  read_bytes_per_s: rate,
  write_bytes_per_s: rate,
  net_rx_bytes_per_s: rate,
  net_tx_bytes_per_s: rate,
};

export const PROCESS = object({
  pid,
  /** pid + start_time is the identity of a process */
  start_time: int("epoch ms", 0, MAX_TIME_MS),
  ppid: int("pid", 0, MAX_PID),
  user: str(256),
  comm: str(64),
  /** arguments joined by spaces, secrets masked on the host */
  cmdline: str(65_536),
  /** what tells this instance apart from its siblings: listening ports, --port, --defaults-file, ... ("" if nothing) */
  instance: str(1024),
  ...USAGE,
  threads: int("threads", 0, MAX_PID),
  /** the process ended during the window: figures from the kernel's exit record, rss_bytes and threads 0 */
  exited: optional(bool),
});

/** What the host used beyond the kept processes, so kept + rest add up to the host totals. */
export const REST = object({
  count: int("processes", 0, MAX_PID),
  ...USAGE,
});

const CPU = object({
  count: int("cpus", 1, MAX_CPUS),
  load1: num("runnable tasks", 0, MAX_PID),
  load5: num("runnable tasks", 0, MAX_PID),
  load15: num("runnable tasks", 0, MAX_PID),
  user_pct: pct,
  system_pct: pct,
  idle_pct: pct,
  iowait_pct: pct,
  steal_pct: pct,
});

const MEMORY = object({ total_bytes: bytes, used_bytes: bytes, available_bytes: bytes, swap_total_bytes: bytes, swap_used_bytes: bytes });

const FILESYSTEM = object({ device: str(255), mount: str(4096), fstype: str(64), total_bytes: bytes, used_bytes: bytes, free_bytes: bytes });

const DISK = object({
  /** kernel name, e.g. "sda", "nvme0n1" */
  device: str(255),
  read_bytes_per_s: rate,
  write_bytes_per_s: rate,
  // a busy device can read a little over 100 % when the window is measured late
  util_pct: num("%", 0, 1000),
  avgqu: num("requests", 0, 1e9),
});

const INTERFACE = object({
  name: str(64),
  rx_bytes_per_s: rate,
  tx_bytes_per_s: rate,
  /** null where the kernel does not know */
  speed_mbps: nullable(num("Mb/s", 0, 1e9)),
});

const CONNECTION = object({
  /** null when no process was ever seen owning the socket */
  pid: nullable(pid),
  local: endpoint,
  remote: endpoint,
  rx_bytes_per_s: rate,
  tx_bytes_per_s: rate,
});

/** Traffic of all connections accepted on one listening port ("the 3306 instance"). */
const LISTEN_PORT = object({ port: int("port", 0, 65_535), pid: nullable(pid), connections: int("connections", 0, MAX_INT32), rx_bytes_per_s: rate, tx_bytes_per_s: rate });

/** An interface's traffic that no socket accounts for (UDP, ICMP, sockets that lived too briefly). */
const UNATTRIBUTED = object({ interface: str(64), rx_bytes_per_s: rate, tx_bytes_per_s: rate });

/** Most alerts one report carries in alerts_sent. */
export const MAX_ALERTS_SENT = 16;

/**
 * An alert the agent itself sent (server_down: no server was there to send it), carried by its next
 * reports until one is accepted, so the server's alert log records it.
 */
const SENT_ALERT = object({
  kind: str(64),
  state: { kind: "string", maxLength: 16, pattern: /^(firing|resolved)$/, patternName: "firing or resolved" } as StringField,
  since: time,
  time,
  message: str(4000),
  /** a channel accepted it (or none is configured) */
  delivered: bool,
  channels: int("channels", 0, 1024),
});

export const REPORT = object({
  v: { kind: "literal", value: PROTOCOL_VERSION } as LiteralField<typeof PROTOCOL_VERSION>,
  /** unique per report (the agent's boot id + sequence); the server stores a report id once */
  id: str(128),
  host: { kind: "string", maxLength: 255, pattern: HOST_RE, patternName: "a valid host name or address" } as StringField,
  agent_version: str(64),
  /** end of the sample window, agent clock */
  time,
  /** length of the sample window */
  interval_ms: int("ms", 1, 86_400_000),
  system: object({
    cpu: CPU,
    memory: MEMORY,
    filesystems: list(FILESYSTEM, 256, true),
    // only busy disks become rows, but every one may be busy
    disks: list(DISK, 1024, true),
    interfaces: list(INTERFACE, 1024, false),
  }),
  processes: list(PROCESS, MAX_ROWS_PER_REPORT, true),
  rest: REST,
  connections: list(CONNECTION, MAX_ROWS_PER_REPORT, true),
  listen_ports: list(LISTEN_PORT, MAX_ROWS_PER_REPORT, true),
  unattributed: list(UNATTRIBUTED, 256, true),
  /** what this kernel and these privileges let the agent collect */
  capabilities: { kind: "map", of: { kind: "scalar", maxLength: 256 }, maxKeys: 64, maxKeyLength: 64 } as MapField<ScalarField>,
  /** files or steps that failed, by kind, with counts */
  collector_errors: { kind: "map", of: int("count", 0, MAX_INT32), maxKeys: 256, maxKeyLength: 64 } as MapField<IntField>,
  /** alerts this agent sent itself and no server has recorded yet; absent from older agents */
  alerts_sent: optional(list(SENT_ALERT, MAX_ALERTS_SENT, false)),
});

// --- the types, derived from the table ---

export type Report = TypeOf<typeof REPORT>;
export type ProcessRecord = TypeOf<typeof PROCESS>;
export type RestRecord = TypeOf<typeof REST>;
export type SystemStats = Report["system"];
export type CpuStats = TypeOf<typeof CPU>;
export type MemoryStats = TypeOf<typeof MEMORY>;
export type FilesystemStats = TypeOf<typeof FILESYSTEM>;
export type DiskStats = TypeOf<typeof DISK>;
export type InterfaceStats = TypeOf<typeof INTERFACE>;
export type ConnectionRecord = TypeOf<typeof CONNECTION>;
export type ListenPortRecord = TypeOf<typeof LISTEN_PORT>;
export type UnattributedRecord = TypeOf<typeof UNATTRIBUTED>;
export type SentAlert = TypeOf<typeof SENT_ALERT>;

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

// --- the validator, generated from the table ---

/** Throws ReportError naming the first value at `path` that `field` does not allow. */
export function checkField(field: Field, v: unknown, path: string): void {
  switch (field.kind) {
    case "int":
    case "number":
      if (typeof v !== "number" || !Number.isFinite(v)) throw new ReportError(path, `expected a number, got ${typeName(v)}`);
      if (v < field.min || v > field.max) throw new ReportError(path, `out of range (${field.min}..${field.max} ${field.unit}): ${v}`);
      if (field.kind === "int" && !Number.isInteger(v)) throw new ReportError(path, `expected an integer, got ${v}`);
      return;
    case "string":
      if (typeof v !== "string") throw new ReportError(path, `expected a string, got ${typeName(v)}`);
      if (v.length > field.maxLength) throw new ReportError(path, `longer than ${field.maxLength} characters`);
      if (field.pattern && !field.pattern.test(v)) throw new ReportError(path, `not ${field.patternName ?? "allowed"}: ${JSON.stringify(v)}`);
      return;
    case "literal":
      if (v !== field.value) throw new ReportError(path, `unsupported protocol version ${JSON.stringify(v)} (this server speaks ${field.value})`);
      return;
    case "nullable":
      if (v !== null) checkField(field.of, v, path);
      return;
    case "object": {
      const o = plainObject(v, path);
      for (const [k, f] of Object.entries(field.fields as Record<string, Field>)) {
        if (!(k in o)) {
          if (f.kind === "optional") continue;
          throw new ReportError(`${path}.${k}`, "missing");
        }
        checkField(f, o[k], `${path}.${k}`);
      }
      return;
    }
    case "array":
      if (!Array.isArray(v)) throw new ReportError(path, `expected an array, got ${typeName(v)}`);
      if (v.length > field.maxItems) throw new ReportError(path, `more than ${field.maxItems} items`);
      v.forEach((x, i) => checkField(field.of, x, `${path}[${i}]`));
      return;
    case "map": {
      const entries = Object.entries(plainObject(v, path));
      if (entries.length > field.maxKeys) throw new ReportError(path, `more than ${field.maxKeys} keys`);
      for (const [k, x] of entries) {
        if (k.length > field.maxKeyLength) throw new ReportError(path, `a key is longer than ${field.maxKeyLength} characters`);
        checkField(field.of, x, `${path}.${k}`);
      }
      return;
    }
    case "boolean":
      if (typeof v !== "boolean") throw new ReportError(path, `expected a boolean, got ${typeName(v)}`);
      return;
    case "optional":
      if (v !== undefined) checkField(field.of, v, path);
      return;
    case "scalar":
      if (!["boolean", "number", "string"].includes(typeof v)) throw new ReportError(path, `expected a boolean, number or string, got ${typeName(v)}`);
      if (typeof v === "number" && !Number.isFinite(v)) throw new ReportError(path, "expected a finite number");
      if (typeof v === "string" && v.length > field.maxLength) throw new ReportError(path, `longer than ${field.maxLength} characters`);
      return;
  }
}

/** Rows a report may become in the store: host, rest and report-id rows plus one per listed item. */
export function rowCount(r: Report): number {
  let n = 3;
  const count = (shape: ObjectField, value: Record<string, unknown>) => {
    for (const [k, f] of Object.entries(shape.fields as Record<string, Field>)) {
      if (f.kind === "array" && f.rows) n += (value[k] as unknown[]).length;
      else if (f.kind === "object") count(f, value[k] as Record<string, unknown>);
    }
  };
  count(REPORT, r as unknown as Record<string, unknown>);
  return n;
}

/** Checks a parsed JSON value against the report table; throws ReportError naming the first bad field. */
export function decodeReport(value: unknown): Report {
  checkField(REPORT, value, "report");
  const report = value as Report;
  const rows = rowCount(report);
  if (rows > MAX_ROWS_PER_REPORT) throw new ReportError("report", `would become ${rows} rows (limit ${MAX_ROWS_PER_REPORT} per report)`);
  return report;
}

/**
 * The report's `time` against the signed request time: no older than a spooled report can be and
 * no later than the clock tolerance allows (a time far ahead would move the host's samples and clock).
 */
export function checkReportTime(report: Report, signedMs: number, maxSkewMs: number): void {
  const earliest = signedMs - MAX_REPORT_AGE_MS;
  const latest = signedMs + maxSkewMs;
  if (report.time < earliest || report.time > latest) {
    throw new ReportError("report.time", `${report.time} is outside the signed time's window (${earliest}..${latest} epoch ms)`);
  }
}

function plainObject(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ReportError(path, `expected an object, got ${typeName(v)}`);
  return v as Record<string, unknown>;
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}
