import { describe, expect, test } from "bun:test";
import { delta, isWholeDisk, memoryStats, watchedMounts } from "../../../src/collect/host.ts";
import { parsePasswd } from "../../../src/collect/users.ts";
import { parseMounts } from "../../../src/procfs/mounts.ts";

describe("watchedMounts", () => {
  const mounts = parseMounts(
    [
      "proc /proc proc rw 0 0",
      "overlay / overlay rw 0 0",
      "/dev/sda1 /data ext4 rw 0 0",
      "/dev/sda1 /bind ext4 rw 0 0",
      "tmpfs /run tmpfs rw 0 0",
      "overlay /var/lib/docker/x/merged overlay rw 0 0",
      "srv:/export /mnt/nfs nfs4 rw 0 0",
      "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0",
    ].join("\n"),
  );
  test("default: real filesystems, overlay only as /, one per device", () => {
    expect(watchedMounts(mounts, []).map((m) => m.mountPoint)).toEqual(["/", "/data", "/mnt/nfs"]);
  });
  test("configured mounts are taken as they are, whatever the type", () => {
    expect(watchedMounts(mounts, ["/run", "/bind"]).map((m) => m.mountPoint)).toEqual(["/bind", "/run"]);
  });
});

test("isWholeDisk: sysfs list when present, name heuristics otherwise, never loop/ram", () => {
  const sys = new Set(["sda", "dm-0", "loop0"]);
  expect(["sda", "dm-0", "sda1", "loop0"].map((n) => isWholeDisk(n, sys))).toEqual([true, true, false, false]);
  expect(["vda", "vda1", "nvme0n1", "nvme0n1p1", "md0", "ram0"].map((n) => isWholeDisk(n, undefined))).toEqual([true, false, true, false, true, false]);
});

test("delta never goes negative and needs both sides", () => {
  expect(delta(10, 4)).toBe(6);
  expect(delta(4, 10)).toBe(0);
  expect(delta(4, undefined)).toBe(0);
});

test("memoryStats clamps available to total", () => {
  expect(memoryStats({ memTotalKb: 100, memFreeKb: 0, memAvailableKb: 150, swapTotalKb: 0, swapFreeKb: 0 }).used_bytes).toBe(0);
});

test("parsePasswd: first entry per uid wins, junk ignored", () => {
  const u = parsePasswd("root:x:0:0::/root:/bin/bash\n# comment\ntoor:x:0:0::/:/bin/sh\nmysql:x:27:27::/:/sbin/nologin\nbroken\n");
  expect([...u.entries()]).toEqual([
    [0, "root"],
    [27, "mysql"],
  ]);
});
