// One host's history as chart series: host CPU, memory, disk and network, the heaviest processes
// stacked with `rest`, listening ports, interface traffic no socket accounts for, and filesystem use.
// Long ranges are averaged into buckets so a chart never gets more than `maxPoints` points; a bucket's
// value is the sum over its samples divided by the host's samples in it, so a process missing from a
// sample (it was inside `rest` there) counts as 0, like `pmon top` over a range.
import { commandNames } from "./history.ts";
import { jsonObject, num } from "./status.ts";
import type { Db } from "./db.ts";
import { MAX_STORED_INTERFACES, OTHER_INTERFACES } from "./interfaces.ts";
import { fromTimeValue, timeBucket, timeCol, timeParam } from "./series-time.ts";

export interface SeriesQuery {
  host: string;
  /** epoch ms, inclusive */
  from: number;
  to: number;
  /** most points per series (default 3000: a day at 30 s is drawn sample by sample) */
  maxPoints?: number;
  /** processes (and ports) drawn on their own; the others are summed into `rest` (default 8) */
  topK?: number;
}

/** A series' values per point; null = not recorded at that point (shown as a gap, never as 0). */
export type Values = (number | null)[];

export interface ProcessSeries {
  pid: number;
  start_time: number;
  comm: string;
  instance: string;
  user: string;
  values: number[];
}

/** The heaviest processes of one resource and everything else, in the same unit. */
export interface ProcessStack {
  processes: ProcessSeries[];
  /** every other process: kept ones not drawn plus the host's rest record */
  rest: number[];
}

export interface NamedRx {
  name: string;
  rx: Values;
  tx: Values;
}

export interface HostSeries {
  host: string;
  from: number;
  to: number;
  /** bucket width in seconds (1 = every sample) */
  step_s: number;
  /** epoch ms of each point: the last sample in its bucket, so `pmon top --at` of it is that sample */
  times: number[];
  /** host-wide figures from each report */
  cpu_pct: Values;
  mem_used_bytes: Values;
  mem_total_bytes: Values;
  disk_read_bytes_per_s: Values;
  disk_write_bytes_per_s: Values;
  net_rx_bytes_per_s: Values;
  net_tx_bytes_per_s: Values;
  /** cpu: % of one core; mem: RSS bytes; io: read+write bytes/s; net: rx+tx bytes/s */
  cpu: ProcessStack;
  mem: ProcessStack;
  io: ProcessStack;
  net: ProcessStack;
  /** devices at or over the disk thresholds only: other samples of a device are not stored */
  devices: { name: string; util_pct: Values; read_bytes_per_s: Values; write_bytes_per_s: Values }[];
  /** each interface's traffic, lo included (bytes/s); null where a sample predates per-interface storage */
  interfaces: NamedRx[];
  /** traffic accepted on each listening port (bytes/s) */
  ports: NamedRx[];
  /** interface traffic no socket accounts for (bytes/s) */
  unattributed: NamedRx[];
  /** used / (used + available) per mount */
  filesystems: { mount: string; used_pct: Values }[];
}

const KB = 1024;
const GB = 1024 ** 3;

export async function hostSeries(db: Db, q: SeriesQuery): Promise<HostSeries> {
  const maxPoints = q.maxPoints ?? 3000;
  const topK = q.topK ?? 8;
  const range = [q.host, timeParam(db, q.from), timeParam(db, q.to)];
  const tc = timeCol(db);
  const where = `rshost = ? AND ${tc} >= ? AND ${tc} <= ?`;
  // Every sample when they fit, else buckets wide enough that the range holds at most maxPoints.
  const count = Number((await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM tb_monitor_host_info WHERE ${where}`, range))[0]?.n ?? 0);
  const step = count <= maxPoints ? 1 : Math.max(1, Math.ceil((q.to - q.from) / 1000 / maxPoints));
  const bucket = timeBucket(db, step);

  const [hostRows, procRows, restRows, devRows, portRows, unattrRows, fsRows] = await Promise.all([
    db.query<{ time: string | number; cpu_info: unknown; mem_info: unknown; io_info: unknown; net: unknown }>(
      `SELECT ${tc} AS time, cpu_info, mem_info, io_info, net FROM tb_monitor_host_info WHERE ${where} ORDER BY ${tc}`,
      range,
    ),
    // No text columns here: MariaDB's temporary table for MAX(instance) etc. made this 5x slower.
    db.query<{ pid: number; start_time: number | string; b: number | string; cpu: number; rss: number; io: number; net: number }>(
      `SELECT pid, start_time, ${bucket} AS b, SUM(cpu) AS cpu, SUM(rss_bytes) AS rss, SUM(io_r + io_w) AS io, SUM(net_in + net_out) AS net
         FROM tb_monitor_process_io_info WHERE ${where} GROUP BY pid, start_time, b`,
      range,
    ),
    db.query<{ b: number | string; cpu: number; rss: number; io: number; net: number }>(
      `SELECT ${bucket} AS b, SUM(cpu) AS cpu, SUM(rss_bytes) AS rss, SUM(io_r + io_w) AS io, SUM(net_in + net_out) AS net
         FROM tb_monitor_process_rest_info WHERE ${where} GROUP BY b`,
      range,
    ),
    db.query<{ name: string; b: number | string; util: number; r: number; w: number }>(
      `SELECT dev AS name, ${bucket} AS b, AVG(util) AS util, AVG(read_kbs) AS r, AVG(write_kbs) AS w
         FROM tb_monitor_disk_util_qu_info WHERE ${where} GROUP BY dev, b`,
      range,
    ),
    db.query<{ name: number | string; b: number | string; rx: number; tx: number }>(
      `SELECT port AS name, ${bucket} AS b, SUM(in_info) AS rx, SUM(out_info) AS tx FROM tb_monitor_listen_port_info WHERE ${where} GROUP BY port, b`,
      range,
    ),
    db.query<{ name: string; b: number | string; rx: number; tx: number }>(
      `SELECT iface AS name, ${bucket} AS b, SUM(in_info) AS rx, SUM(out_info) AS tx FROM tb_monitor_net_unattributed_info WHERE ${where} GROUP BY iface, b`,
      range,
    ),
    db.query<{ name: string; b: number | string; pct: number | null }>(
      `SELECT CASE WHEN mount <> '' THEN mount ELSE part END AS name, ${bucket} AS b,
              AVG(CASE WHEN used_bytes + free_bytes > 0 THEN used_bytes * 100.0 / (used_bytes + free_bytes) END) AS pct
         FROM tb_monitor_disk_info WHERE ${where} GROUP BY name, b`,
      range,
    ),
  ]);

  // Points: the buckets that hold at least one report of the host.
  const index = new Map<number, number>();
  const times: number[] = [];
  const samples: number[] = [];
  const fields = ["cpu", "memUsed", "memTotal", "dr", "dw", "rx", "tx"] as const;
  // per field and point: the sum and how many samples carried the field (old rows may lack a key)
  const sums = Object.fromEntries(fields.map((f) => [f, { sum: [] as number[], n: [] as number[] }])) as Record<(typeof fields)[number], { sum: number[]; n: number[] }>;
  const ifaceSums: InterfaceSums = { samples: [], byName: new Map() };
  const add = (f: (typeof fields)[number], i: number, v: number | null) => {
    if (v === null) return;
    sums[f].sum[i]! += v;
    sums[f].n[i]!++;
  };
  for (const r of hostRows) {
    const t = fromTimeValue(r.time);
    const b = Math.floor(t / 1000 / step);
    let i = index.get(b);
    if (i === undefined) {
      i = times.length;
      index.set(b, i);
      times.push(t);
      samples.push(0);
      for (const f of fields) {
        sums[f].sum.push(0);
        sums[f].n.push(0);
      }
    }
    times[i] = Math.max(times[i]!, t);
    samples[i]!++;
    const cpu = jsonObject(r.cpu_info);
    const mem = jsonObject(r.mem_info);
    const io = jsonObject(jsonObject(r.io_info).Actual);
    const net = jsonObject(r.net);
    const idle = num(cpu.id);
    add("cpu", i, idle === null ? null : Math.max(0, Math.min(100, 100 - idle)));
    add("memUsed", i, scale(num(mem.used), GB));
    add("memTotal", i, scale(num(mem.total), GB));
    add("dr", i, scale(num(io.read), KB));
    add("dw", i, scale(num(io.write), KB));
    add("rx", i, scale(num(net.receive), KB));
    add("tx", i, scale(num(net.send), KB));
    addInterfaces(ifaceSums, i, net.ifaces);
  }
  // Host figures are averaged over the samples that carried them.
  const avg = (f: (typeof fields)[number]): Values => sums[f].sum.map((v, i) => (sums[f].n[i] ? v / sums[f].n[i]! : null));
  const n = times.length;
  const slot = (b: number | string) => index.get(Number(b));

  const stacks = {
    cpu: stackOf(procRows, restRows, "cpu", 1, topK, n, slot, samples),
    mem: stackOf(procRows, restRows, "rss", 1, topK, n, slot, samples),
    io: stackOf(procRows, restRows, "io", KB, topK, n, slot, samples),
    net: stackOf(procRows, restRows, "net", KB, topK, n, slot, samples),
  };
  const labels = await processLabels(db, q.host, step, Object.values(stacks).flatMap((s) => s.picked));
  const names = await commandNames(db, [...labels.values()].map((l) => l.md5_str ?? ""));
  const finish = (s: (typeof stacks)["cpu"]): ProcessStack => ({
    processes: s.picked.map((p) => {
      const l = labels.get(`${p.pid}/${p.start_time}`);
      return { pid: p.pid, start_time: p.start_time, comm: names.get(l?.md5_str ?? "")?.comm ?? "", instance: l?.instance ?? "", user: l?.user ?? "", values: p.values };
    }),
    rest: s.rest,
  });

  const devices = grouped(devRows, n, slot, (r) => r.name);
  const ports = grouped(portRows, n, slot, (r) => String(r.name));
  const unattributed = grouped(unattrRows, n, slot, (r) => r.name);
  const filesystems = grouped(fsRows, n, slot, (r) => r.name);
  const perSample = (v: number | null | undefined, i: number, unit: number) => (v === null || v === undefined ? null : (v * unit) / samples[i]!);
  const heaviestPorts = [...ports]
    .map(([name, rows]) => ({ name, rows, total: rows.reduce((s, r) => s + (r ? Number(r.rx) + Number(r.tx) : 0), 0) }))
    .sort((a, b) => b.total - a.total || Number(a.name) - Number(b.name))
    .slice(0, topK);

  return {
    host: q.host,
    from: q.from,
    to: q.to,
    step_s: step,
    times,
    cpu_pct: avg("cpu"),
    mem_used_bytes: avg("memUsed"),
    mem_total_bytes: avg("memTotal"),
    disk_read_bytes_per_s: avg("dr"),
    disk_write_bytes_per_s: avg("dw"),
    net_rx_bytes_per_s: avg("rx"),
    net_tx_bytes_per_s: avg("tx"),
    cpu: finish(stacks.cpu),
    mem: finish(stacks.mem),
    io: finish(stacks.io),
    net: finish(stacks.net),
    devices: [...devices].map(([name, rows]) => ({
      name,
      util_pct: rows.map((r) => (r ? num(r.util) : null)),
      read_bytes_per_s: rows.map((r) => (r ? scale(num(r.r), KB) : null)),
      write_bytes_per_s: rows.map((r) => (r ? scale(num(r.w), KB) : null)),
    })),
    interfaces: interfaceSeries(ifaceSums, n),
    ports: heaviestPorts.map(({ name, rows }) => ({ name, rx: rows.map((r, i) => perSample(r && num(r.rx), i, KB)), tx: rows.map((r, i) => perSample(r && num(r.tx), i, KB)) })),
    unattributed: [...unattributed].map(([name, rows]) => ({ name, rx: rows.map((r, i) => perSample(r && num(r.rx), i, KB)), tx: rows.map((r, i) => perSample(r && num(r.tx), i, KB)) })),
    filesystems: [...filesystems].map(([name, rows]) => ({ mount: name, used_pct: rows.map((r) => (r ? num(r.pct) : null)) })),
  };
}

/** Per point: samples that carried net.ifaces, and each interface's rx/tx sums (KB/s) over them. */
interface InterfaceSums {
  samples: number[];
  byName: Map<string, { rx: number[]; tx: number[] }>;
}

function addInterfaces(sums: InterfaceSums, i: number, ifaces: unknown): void {
  // older rows have no ifaces key: their points stay gaps
  if (ifaces === null || typeof ifaces !== "object" || Array.isArray(ifaces)) return;
  sums.samples[i] = (sums.samples[i] ?? 0) + 1;
  for (const [name, pair] of Object.entries(ifaces)) {
    if (!Array.isArray(pair)) continue;
    const rx = num(pair[0]);
    const tx = num(pair[1]);
    let s = sums.byName.get(name);
    if (!s) sums.byName.set(name, (s = { rx: [], tx: [] }));
    s.rx[i] = (s.rx[i] ?? 0) + (rx ?? 0);
    s.tx[i] = (s.tx[i] ?? 0) + (tx ?? 0);
  }
}

/**
 * Averages per point over the samples that carried the key; an interface absent from such a sample was
 * idle (0). The MAX_STORED_INTERFACES busiest over the range are drawn, the others summed as OTHER_INTERFACES.
 */
function interfaceSeries(sums: InterfaceSums, n: number): NamedRx[] {
  const avg = (v: number[]): Values => Array.from({ length: n }, (_, i) => (sums.samples[i] ? ((v[i] ?? 0) * KB) / sums.samples[i]! : null));
  const total = (s: { rx: number[]; tx: number[] }) => s.rx.reduce((a, v) => a + (v ?? 0), 0) + s.tx.reduce((a, v) => a + (v ?? 0), 0);
  const byTraffic = [...sums.byName].sort(([a, x], [b, y]) => total(y) - total(x) || (a < b ? -1 : 1));
  const drawn = byTraffic.slice(0, MAX_STORED_INTERFACES);
  const others = byTraffic.slice(MAX_STORED_INTERFACES);
  if (others.length) {
    const sum = { rx: [] as number[], tx: [] as number[] };
    for (const [, s] of others) {
      for (let i = 0; i < n; i++) {
        sum.rx[i] = (sum.rx[i] ?? 0) + (s.rx[i] ?? 0);
        sum.tx[i] = (sum.tx[i] ?? 0) + (s.tx[i] ?? 0);
      }
    }
    const mine = drawn.find(([name]) => name === OTHER_INTERFACES);
    if (mine) for (let i = 0; i < n; i++) (mine[1].rx[i] = (mine[1].rx[i] ?? 0) + sum.rx[i]!), (mine[1].tx[i] = (mine[1].tx[i] ?? 0) + sum.tx[i]!);
    else drawn.push([OTHER_INTERFACES, sum]);
  }
  return drawn.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, s]) => ({ name, rx: avg(s.rx), tx: avg(s.tx) }));
}

type Label = { pid: number; start_time: number | string; instance: string | null; user: string | null; md5_str: string | null };

/** instance, user and command of each drawn process: one row of it from a bucket it was seen in (one short index range each). */
async function processLabels(db: Db, host: string, step: number, picked: Picked[]): Promise<Map<string, Label>> {
  const unique = new Map(picked.map((p) => [`${p.pid}/${p.start_time}`, p]));
  const rows = await Promise.all(
    [...unique.values()].map((p) =>
      db.query<Label>(
        `SELECT pid, start_time, instance, user, md5_str FROM tb_monitor_process_io_info
          WHERE rshost = ? AND ${timeCol(db)} >= ? AND ${timeCol(db)} < ? AND pid = ? AND start_time = ? LIMIT 1`,
        [host, timeParam(db, p.bucket * step * 1000), timeParam(db, (p.bucket + 1) * step * 1000), p.pid, p.start_time],
      ),
    ),
  );
  return new Map(rows.flat().map((r) => [`${r.pid}/${r.start_time}`, r]));
}

const scale = (v: number | null, unit: number) => (v === null ? null : v * unit);

/** Rows of (name, bucket) spread into one array per name, aligned with the points. */
function grouped<R extends { b: number | string }>(rows: R[], n: number, slot: (b: number | string) => number | undefined, nameOf: (r: R) => string): Map<string, (R | null)[]> {
  const out = new Map<string, (R | null)[]>();
  for (const r of rows) {
    const i = slot(r.b);
    if (i === undefined) continue;
    const name = nameOf(r);
    let arr = out.get(name);
    if (!arr) out.set(name, (arr = Array<R | null>(n).fill(null)));
    arr[i] = r;
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

type ProcField = "cpu" | "rss" | "io" | "net";

interface Picked {
  pid: number;
  start_time: number;
  /** a bucket the process was seen in */
  bucket: number;
  values: number[];
}

/** The topK processes by their total over the range, and `rest` = everything else per point. */
function stackOf(
  procRows: { pid: number; start_time: number | string; b: number | string; cpu: number; rss: number; io: number; net: number }[],
  restRows: { b: number | string; cpu: number; rss: number; io: number; net: number }[],
  field: ProcField,
  unit: number,
  topK: number,
  n: number,
  slot: (b: number | string) => number | undefined,
  samples: number[],
): { picked: Picked[]; rest: number[] } {
  const totals = new Map<string, number>();
  const all = Array<number>(n).fill(0);
  for (const r of procRows) {
    const i = slot(r.b);
    if (i === undefined) continue;
    const v = Number(r[field]) || 0;
    const key = `${r.pid}/${r.start_time}`;
    totals.set(key, (totals.get(key) ?? 0) + v);
    all[i]! += v;
  }
  for (const r of restRows) {
    const i = slot(r.b);
    if (i !== undefined) all[i]! += Number(r[field]) || 0;
  }
  const keys = [...totals]
    .filter(([, t]) => t > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, topK)
    .map(([k]) => k);
  const picked = new Map<string, Picked>(keys.map((k) => [k, { pid: 0, start_time: 0, bucket: 0, values: Array<number>(n).fill(0) }]));
  const rest = all.slice();
  for (const r of procRows) {
    const p = picked.get(`${r.pid}/${r.start_time}`);
    const i = slot(r.b);
    if (!p || i === undefined) continue;
    const v = Number(r[field]) || 0;
    p.pid = Number(r.pid);
    p.start_time = Number(r.start_time);
    p.bucket = Number(r.b);
    p.values[i]! += (v * unit) / samples[i]!;
    rest[i]! -= v;
  }
  return {
    picked: [...picked.values()],
    rest: rest.map((v, i) => (Math.max(0, v) * unit) / (samples[i] || 1)),
  };
}
