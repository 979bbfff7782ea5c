// /proc/stat, meminfo, loadavg, uptime, diskstats, net/dev, net/tcp, mounts, hostname and the /sys bits.
import { describe, expect, test } from "bun:test";
import { parseDiskstats, readDiskstats } from "../../../src/procfs/diskstats.ts";
import { ProcParseError } from "../../../src/procfs/errors.ts";
import { createProcFs } from "../../../src/procfs/fs.ts";
import { parseLoadavg } from "../../../src/procfs/loadavg.ts";
import { parseMeminfo, readMeminfo } from "../../../src/procfs/meminfo.ts";
import { parseMounts, readMounts } from "../../../src/procfs/mounts.ts";
import { parseNetDev, readNetDev } from "../../../src/procfs/net-dev.ts";
import { parseNetTcpListen, readListenSockets } from "../../../src/procfs/net-tcp.ts";
import { parseStat, readStat } from "../../../src/procfs/stat.ts";
import { looksLikePartition, readBlockDevices } from "../../../src/procfs/sys-block.ts";
import { parseNetSpeed, readNetSpeed } from "../../../src/procfs/sys-class-net.ts";
import { readHostname } from "../../../src/procfs/sys-kernel-hostname.ts";
import { parseUptime } from "../../../src/procfs/uptime.ts";
import { PROC, PROC_NEXT, SYS } from "../../helpers/procfs/fixtures.ts";

describe("stat", () => {
  test("aggregate cpu, cpu count and btime", () => {
    const s = parseStat("cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 2 3 4 5 6 7 8 9 10\ncpu1 0 0 0 0 0 0 0 0 0 0\nintr 1\nbtime 1700000000\n");
    expect(s).toEqual({ cpu: { user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7, steal: 8 }, cpuCount: 2, btime: 1700000000 });
  });
  test("old kernels without iowait/steal", () => {
    expect(parseStat("cpu 1 2 3 4\ncpu0 1 2 3 4\nbtime 5\n").cpu.steal).toBe(0);
  });
  test.each([["no cpu line", "btime 5\n"], ["no btime", "cpu 1 2 3 4\n"], ["garbage cpu", "cpu a b c d\nbtime 1\n"]])("malformed: %s", (_, t) => {
    expect(() => parseStat(t)).toThrow(ProcParseError);
  });
  test("fixture: 4 cpus", () => {
    expect(readStat(createProcFs(PROC)).cpuCount).toBe(4);
  });
});

describe("meminfo", () => {
  test("fixture values in kB", () => {
    expect(readMeminfo(createProcFs(PROC))).toEqual({ memTotalKb: 16303792, memFreeKb: 1234567, memAvailableKb: 8151896, swapTotalKb: 2097148, swapFreeKb: 1048574 });
  });
  test("without MemAvailable (kernel < 3.14) it is derived", () => {
    expect(parseMeminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\n").memAvailableKb).toBe(310);
  });
  test("no MemTotal is an error", () => {
    expect(() => parseMeminfo("MemFree: 1 kB\n")).toThrow(ProcParseError);
  });
});

describe("loadavg and uptime", () => {
  test("parse", () => {
    expect(parseLoadavg("0.25 0.14 0.08 1/102 7400\n")).toEqual({ load1: 0.25, load5: 0.14, load15: 0.08 });
    expect(parseUptime("599.75 1089.81\n")).toBe(599.75);
  });
  test.each(["", "x y z", "0.1 0.2"])("malformed loadavg %p", (t) => {
    expect(() => parseLoadavg(t)).toThrow(ProcParseError);
  });
  test.each(["", "abc def", "-1 2"])("malformed uptime %p", (t) => {
    expect(() => parseUptime(t)).toThrow(ProcParseError);
  });
});

describe("diskstats", () => {
  test("parses the columns pmon uses", () => {
    const [d] = parseDiskstats(" 254       0 vda 31637 6629 2218202 23241 18308 12819 1918488 8368 0 15956 33067 8349 83 563584 1231 3217 226\n");
    expect(d).toEqual({ major: 254, minor: 0, name: "vda", sectorsRead: 2218202, sectorsWritten: 1918488, ioTicksMs: 15956, weightedIoTicksMs: 33067 });
  });
  test("short line is an error", () => {
    expect(() => parseDiskstats("8 0 sda 1 2 3\n")).toThrow(ProcParseError);
  });
  test("fixture lists disks, partitions and loop", () => {
    expect(readDiskstats(createProcFs(PROC)).map((d) => d.name)).toEqual(["sda", "sda1", "dm-0", "nvme0n1", "nvme0n1p1", "loop0"]);
  });
});

describe("net/dev and net/tcp", () => {
  test("net/dev bytes", () => {
    expect(readNetDev(createProcFs(PROC_NEXT)).find((i) => i.name === "eth0")).toEqual({ name: "eth0", rxBytes: 902000000, txBytes: 301000000 });
    expect(() => parseNetDev("h\nh\n  eth0: 1 2 3\n")).toThrow(ProcParseError);
  });
  test("LISTEN sockets only, ports in hex, tcp and tcp6", () => {
    expect(parseNetTcpListen("hdr\n 0: 00000000:0CEB 00000000:0000 0A 0:0 0:0 0 0 0 123 1\n 1: 0100007F:0CEB 0100007F:A2B4 01 0:0 0:0 0 0 0 124 1\n")).toEqual([{ port: 3307, inode: 123 }]);
    expect(readListenSockets(createProcFs(PROC))).toEqual([
      { port: 3307, inode: 31001 },
      { port: 8080, inode: 31002 },
      { port: 22, inode: 31004 },
      { port: 33070, inode: 31005 },
    ]);
  });
});

describe("mounts", () => {
  test("octal escapes are decoded", () => {
    expect(parseMounts("/dev/x /a\\040b\\011c xfs rw 0 0\n")).toEqual([{ device: "/dev/x", mountPoint: "/a b\tc", fstype: "xfs" }]);
  });
  test("fixture self/mounts", () => {
    expect(readMounts(createProcFs(PROC)).length).toBe(8);
  });
});

describe("hostname, pids and /sys", () => {
  test("hostname comes from the tree", () => {
    expect(readHostname(createProcFs(PROC))).toBe("fixture-host");
  });
  test("pids skips self, net, sys and files, read by name or by getdents64", () => {
    const expected = [1, 2, 100, 200, 201, 300, 400, 500, 600, 800, 900, 901, 902];
    expect(createProcFs(PROC).pids().sort((a, b) => a - b)).toEqual(expected);
    const kept = createProcFs(PROC, { keepStatFiles: true });
    expect(kept.pids().sort((a, b) => a - b)).toEqual(expected);
    kept.close();
  });
  test("net speed: number, -1, empty and missing", () => {
    expect(readNetSpeed(SYS, "eth0")).toBe(10000);
    expect(readNetSpeed(SYS, "docker0")).toBeNull();
    expect(readNetSpeed(SYS, "lo")).toBeNull();
    expect(readNetSpeed(SYS, "tun0")).toBeNull();
    expect(parseNetSpeed("1000\n")).toBe(1000);
  });
  test("block devices from /sys/block, partition names without it", () => {
    expect([...readBlockDevices(SYS)!].sort()).toEqual(["dm-0", "loop0", "nvme0n1", "sda"]);
    expect(readBlockDevices(`${SYS}/missing`)).toBeUndefined();
    expect(["sda1", "nvme0n1p2", "mmcblk0p1", "xvdb3"].every(looksLikePartition)).toBe(true);
    expect(["sda", "nvme0n1", "dm-0", "md0", "mmcblk0"].some(looksLikePartition)).toBe(false);
  });
});
