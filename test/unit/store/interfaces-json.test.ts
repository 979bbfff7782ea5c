// net.ifaces in the host row: per-interface [receive, send] in KB/s, idle interfaces left out, the
// MAX_STORED_INTERFACES busiest kept and the rest summed, legacy keys unchanged.
import { expect, test } from "bun:test";
import { MAX_STORED_INTERFACES, OTHER_INTERFACES } from "../../../src/store/interfaces.ts";
import { hostJson } from "../../../src/store/reports.ts";
import { makeReport } from "../../helpers/reports.ts";

const iface = (name: string, rx: number, tx: number) => ({ name, rx_bytes_per_s: rx, tx_bytes_per_s: tx, speed_mbps: null });

test("idle interfaces are left out; lo is kept per interface but not in the legacy totals", () => {
  const r = makeReport({ system: { interfaces: [iface("eth0", 2048, 1024), iface("lo", 512, 512), iface("veth0", 0, 0)] } as never });
  expect(hostJson(r).net).toEqual({ speed: 0, send: 1, receive: 2, Total: 3, ifaces: { eth0: [2, 1], lo: [0.5, 0.5] } });
});

test("beyond the busiest MAX_STORED_INTERFACES the rest is one sum; an interface named __proto__ stays a key", () => {
  const busy = Array.from({ length: MAX_STORED_INTERFACES + 4 }, (_, i) => iface(`veth${String(i).padStart(2, "0")}`, (100 - i) * 1024, 1024));
  const idle = Array.from({ length: 200 }, (_, i) => iface(`idle${i}`, 0, 0));
  const r = makeReport({ system: { interfaces: [...busy, ...idle, iface("__proto__", 200 * 1024, 0)] } as never });
  const ifaces = hostJson(r).net.ifaces;
  const stored = JSON.parse(JSON.stringify(ifaces)) as Record<string, [number, number]>;
  // the busiest first: __proto__, then veth00.. (the last 5 of busy are summed)
  expect(Object.keys(stored)).toEqual(["__proto__", ...busy.slice(0, MAX_STORED_INTERFACES - 1).map((i) => i.name), OTHER_INTERFACES]);
  expect(stored.__proto__).toEqual([200, 0]);
  expect(stored[OTHER_INTERFACES]).toEqual([85 + 84 + 83 + 82 + 81, 5]);
});
