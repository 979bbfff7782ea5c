import { expect, test } from "bun:test";
import { restOf, selectKept, type SelectionMetrics } from "../../../src/collect/select.ts";

const MiB = 1024 * 1024;
const p = (o: Partial<SelectionMetrics>): SelectionMetrics => ({ cpuPct: 0, rssBytes: 0, readBytesPerS: 0, writeBytesPerS: 0, netRxBytesPerS: 0, netTxBytesPerS: 0, ...o });
const T = { process_cpu_pct: 200, process_mem_gib: 5, disk_io_mib_s: 10, net_mib_s: 10 };

test("each threshold alone keeps a process", () => {
  const items = [p({ cpuPct: 200 }), p({ rssBytes: 5 * 1024 ** 3 }), p({ readBytesPerS: 10 * MiB }), p({ writeBytesPerS: 10 * MiB }), p({ netRxBytesPerS: 10 * MiB }), p({ netTxBytesPerS: 10 * MiB }), p({ cpuPct: 199.9 })];
  expect([...selectKept(items, 0, T)].sort()).toEqual([0, 1, 2, 3, 4, 5]);
});

test("top N per category ignores zeros and breaks ties by order", () => {
  const items = [p({ cpuPct: 5 }), p({ cpuPct: 7 }), p({ cpuPct: 7 }), p({ rssBytes: 1 }), p({})];
  expect([...selectKept(items, 2, T)].sort()).toEqual([1, 2, 3]);
  expect([...selectKept(items, 0, T)]).toEqual([]);
});

test("disk and network top N use read+write and rx+tx", () => {
  const items = [p({ readBytesPerS: 3, writeBytesPerS: 3 }), p({ readBytesPerS: 5 }), p({ netRxBytesPerS: 1, netTxBytesPerS: 1 }), p({ netTxBytesPerS: 1.5 })];
  expect([...selectKept(items, 1, T)].sort()).toEqual([0, 2]);
});

test("restOf sums the processes not kept", () => {
  const items = [p({ cpuPct: 1, rssBytes: 10 }), p({ cpuPct: 2, rssBytes: 20, netRxBytesPerS: 3 }), p({ cpuPct: 4, writeBytesPerS: 5 })];
  expect(restOf(items, new Set([0]))).toEqual({ count: 2, cpu_pct: 6, rss_bytes: 20, read_bytes_per_s: 0, write_bytes_per_s: 5, net_rx_bytes_per_s: 3, net_tx_bytes_per_s: 0 });
});
