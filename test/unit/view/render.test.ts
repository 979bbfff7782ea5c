import { expect, test } from "bun:test";
import type { TopResult } from "../../../src/protocol/top.ts";
import type { HostStatus } from "../../../src/protocol/api.ts";
import { formatBytes, formatRate } from "../../../src/view/format.ts";
import { renderStatus } from "../../../src/view/status.ts";
import { renderTable } from "../../../src/view/table.ts";
import { renderTop } from "../../../src/view/top.ts";

const host = (over: Partial<HostStatus>): HostStatus => ({
  host: "db1",
  state: "running",
  istate: 2,
  agent_version: "0.1.0",
  last_report_at: 1000,
  age_ms: 5000,
  clock_skew_ms: 0,
  deploy_error: null,
  cpu_pct: 12.5,
  load1: 0.5,
  mem_used_pct: 80,
  fs_max_pct: 91,
  fs_max_mount: "/data",
  net_rx_bytes_per_s: 2048,
  net_tx_bytes_per_s: 0,
  top_process: { pid: 42, comm: "mysqld", instance: "3306", cpu_pct: 250 },
  ...over,
});

test("bytes use binary units and unknown values print as -", () => {
  expect([0, 1023, 1536, 5 * 1024 ** 3, null, undefined, NaN].map(formatBytes)).toEqual(["0 B", "1023 B", "1.5 KiB", "5.0 GiB", "-", "-", "-"]);
  expect(formatRate(10 * 1024 ** 2)).toBe("10.0 MiB/s");
});

test("tables align on plain text whether or not colour is on", () => {
  const cols = [
    { title: "A", text: (r: string[]) => r[0]!, colour: () => "red" as const },
    { title: "NUM", align: "right" as const, text: (r: string[]) => r[1]! },
  ];
  const rows = [["x", "1"], ["longer", "100"]];
  const plain = renderTable(cols, rows, { colour: false });
  expect(plain).toBe("A       NUM\nx         1\nlonger  100\n");
  const coloured = renderTable(cols, rows, { colour: true });
  expect(coloured).toContain("\x1b[31m");
  expect(coloured.replace(/\x1b\[\d+m/g, "")).toBe(plain);
});

test("status shows problems below the table and counts states", () => {
  const out = renderStatus(
    [host({}), host({ host: "db2", state: "silent", age_ms: 600_000, cpu_pct: null, top_process: null }), host({ host: "db3", state: "failed", deploy_error: "ssh: connect refused\nretrying", age_ms: null })],
    { colour: false },
  );
  expect(out).not.toContain("\x1b[");
  const lines = out.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^HOST\s+STATE\s+VERSION\s+LAST\s+CPU\s+LOAD\s+MEM\s+FS\s+NET RX\s+NET TX\s+TOP PROCESS$/);
  expect(lines[1]).toContain("mysqld[3306] pid 42 250.0%");
  expect(lines[2]).toMatch(/^db2\s+silent\s+0\.1\.0\s+10m\s+-/);
  expect(lines).toContain("db2: no report for 10m");
  expect(lines).toContain("db3: deploy failed: ssh: connect refused retrying");
  expect(lines.at(-1)).toBe("3 hosts: 1 running, 1 silent, 1 failed");
});

test("an empty fleet says how to add a host", () => {
  expect(renderStatus([], { colour: false })).toBe("no hosts enrolled (add one with: pmon enroll HOST)\n");
});

test("top says plainly when a window holds no samples: the window, and where the data is", () => {
  const at = Date.UTC(2026, 0, 1);
  const empty: TopResult = { mode: "at", by: "cpu", limit: 10, at, hosts: 0, rows: [] };
  const window = { from: at - 600_000, to: at };
  expect(renderTop(empty, { colour: false, window, span: { first: Date.UTC(2025, 11, 1), last: Date.UTC(2025, 11, 2, 12, 30) } })).toBe(
    "top 10 by cpu at 2026-01-01 00:00:00 UTC (latest sample at or before), 0 hosts\n" +
      "no samples recorded for any host between 2025-12-31 23:50:00 UTC and 2026-01-01 00:00:00 UTC; the samples run from 2025-12-01 00:00:00 UTC to 2025-12-02 12:30:00 UTC\n",
  );
  expect(renderTop({ ...empty, host: "nosuch" }, { colour: false, window, span: { first: null, last: null } })).toContain(
    "no samples recorded between 2025-12-31 23:50:00 UTC and 2026-01-01 00:00:00 UTC: host nosuch has no samples at all",
  );
});
