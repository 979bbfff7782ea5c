// Valid reports and signed requests for the server tests.
import { gzipSync } from "node:zlib";
import { HEADERS, ROUTES, signedHeaders } from "../../../src/protocol/api.ts";
import { PROTOCOL_VERSION, type Report } from "../../../src/protocol/report.ts";

export function validReport(host: string, id: string, time = Date.now(), processes = 3): Report {
  return {
    v: PROTOCOL_VERSION,
    id,
    host,
    agent_version: "0.1.0",
    time,
    interval_ms: 30_000,
    system: {
      cpu: { count: 4, load1: 0.5, load5: 0.4, load15: 0.3, user_pct: 10, system_pct: 5, idle_pct: 84, iowait_pct: 1, steal_pct: 0 },
      memory: { total_bytes: 8 * 1024 ** 3, used_bytes: 3 * 1024 ** 3, available_bytes: 5 * 1024 ** 3, swap_total_bytes: 0, swap_used_bytes: 0 },
      filesystems: [{ device: "/dev/sda1", mount: "/", fstype: "ext4", total_bytes: 100 * 1024 ** 3, used_bytes: 40 * 1024 ** 3, free_bytes: 60 * 1024 ** 3 }],
      disks: [{ device: "sda", read_bytes_per_s: 1024 * 100, write_bytes_per_s: 1024 * 200, util_pct: 3, avgqu: 0.1 }],
      interfaces: [{ name: "eth0", rx_bytes_per_s: 2048, tx_bytes_per_s: 1024, speed_mbps: 1000 }],
    },
    processes: Array.from({ length: processes }, (_, i) => ({
      pid: 100 + i,
      start_time: time - 3_600_000,
      ppid: 1,
      user: "root",
      comm: `proc${i}`,
      cmdline: `/usr/bin/proc${i} --flag ${i}`,
      instance: "",
      cpu_pct: 250 + i,
      rss_bytes: 6 * 1024 ** 3 + i,
      read_bytes_per_s: 11 * 1024 * 1024,
      write_bytes_per_s: 1024,
      net_rx_bytes_per_s: 0,
      net_tx_bytes_per_s: 0,
      threads: 4,
    })),
    rest: { count: 50, cpu_pct: 12, rss_bytes: 1024 ** 3, read_bytes_per_s: 0, write_bytes_per_s: 0, net_rx_bytes_per_s: 0, net_tx_bytes_per_s: 0 },
    connections: [],
    listen_ports: [],
    unattributed: [],
    capabilities: { sock_diag: false },
    collector_errors: {},
  };
}

export interface SignOpts {
  secret: string;
  host?: string;
  timeMs?: number;
  gzip?: boolean;
  replay?: boolean;
  url?: string;
}

/** A signed POST /v1/report request carrying `body` (a report object or raw text/bytes). */
export function reportRequest(body: unknown, o: SignOpts): Request {
  const bytes = body instanceof Uint8Array ? body : new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body));
  const wire = o.gzip ? gzipSync(bytes) : bytes;
  const host = o.host ?? (body as Report).host;
  return new Request((o.url ?? "http://pmon.test") + ROUTES.report, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...signedHeaders(o.secret, host, o.timeMs ?? Date.now(), wire),
      ...(o.gzip ? { "content-encoding": "gzip" } : {}),
      ...(o.replay ? { [HEADERS.replay]: "1" } : {}),
    },
    body: wire,
  });
}
