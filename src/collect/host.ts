// Host-level sample: raw cumulative counters at one instant (cpu, disks, interfaces) plus the gauges
// (load, memory, filesystems); `hostStats` turns two samples into the report's `system` section.
import { statfsSync } from "node:fs";
import { readDiskstats, type DiskstatsEntry } from "../procfs/diskstats.ts";
import { isGone } from "../procfs/errors.ts";
import type { ProcFs } from "../procfs/fs.ts";
import { readLoadavg, type Loadavg } from "../procfs/loadavg.ts";
import { readMeminfo, type Meminfo } from "../procfs/meminfo.ts";
import { readMounts, type MountEntry } from "../procfs/mounts.ts";
import { readNetDev, type NetDevEntry } from "../procfs/net-dev.ts";
import type { CpuTimes, Stat } from "../procfs/stat.ts";
import { looksLikePartition, readBlockDevices } from "../procfs/sys-block.ts";
import { readNetSpeed } from "../procfs/sys-class-net.ts";
import type { CpuStats, DiskStats, FilesystemStats, InterfaceStats, MemoryStats } from "../protocol/report.ts";
import { countError, type ErrorCounts, type StatfsResult } from "./types.ts";

export interface HostSample {
  stat: Stat;
  loadavg: Loadavg;
  meminfo: Meminfo;
  disks: DiskstatsEntry[];
  interfaces: NetDevEntry[];
}

/** Reads the counters; a missing optional file (no diskstats in a container) leaves that part empty. */
export function readHostSample(fs: ProcFs, sysRoot: string, stat: Stat, errors: ErrorCounts): HostSample {
  const optional = <T>(kind: string, read: () => T[]): T[] => {
    try {
      return read();
    } catch (e) {
      if (!isGone(e)) countError(errors, kind);
      return [];
    }
  };
  const blockDevices = readBlockDevices(sysRoot);
  const disks = optional("diskstats_read", () => readDiskstats(fs)).filter((d) => isWholeDisk(d.name, blockDevices));
  return { stat, loadavg: readLoadavg(fs), meminfo: readMeminfo(fs), disks, interfaces: optional("net_dev_read", () => readNetDev(fs)) };
}

/**
 * Whole disks plus dm-/md devices (they are whole devices in /sys/block too); partitions would double
 * count, loop and ram devices are not storage anyone watches.
 */
export function isWholeDisk(name: string, blockDevices: Set<string> | undefined): boolean {
  if (name.startsWith("loop") || name.startsWith("ram")) return false;
  return blockDevices ? blockDevices.has(name) : !looksLikePartition(name);
}

/** Counter delta that never goes negative (a counter reset or wrap gives 0, not a huge negative rate). */
export function delta(cur: number, prev: number | undefined): number {
  return prev === undefined || cur < prev ? 0 : cur - prev;
}

export function cpuStats(cur: HostSample, prev: HostSample): CpuStats {
  const d = (k: keyof CpuTimes) => delta(cur.stat.cpu[k], prev.stat.cpu[k]);
  const user = d("user") + d("nice");
  const system = d("system") + d("irq") + d("softirq");
  const idle = d("idle");
  const iowait = d("iowait");
  const steal = d("steal");
  const total = user + system + idle + iowait + steal;
  const pct = (x: number) => (total > 0 ? round2((100 * x) / total) : 0);
  return {
    count: cur.stat.cpuCount,
    load1: cur.loadavg.load1,
    load5: cur.loadavg.load5,
    load15: cur.loadavg.load15,
    user_pct: pct(user),
    system_pct: pct(system),
    idle_pct: total > 0 ? pct(idle) : 100,
    iowait_pct: pct(iowait),
    steal_pct: pct(steal),
  };
}

export function memoryStats(m: Meminfo): MemoryStats {
  const kb = 1024;
  const available = Math.min(m.memAvailableKb, m.memTotalKb);
  return {
    total_bytes: m.memTotalKb * kb,
    used_bytes: (m.memTotalKb - available) * kb,
    available_bytes: available * kb,
    swap_total_bytes: m.swapTotalKb * kb,
    swap_used_bytes: Math.max(0, m.swapTotalKb - m.swapFreeKb) * kb,
  };
}

export function diskStats(cur: HostSample, prev: HostSample, dtSec: number): DiskStats[] {
  const before = new Map(prev.disks.map((d) => [d.name, d]));
  const dtMs = dtSec * 1000;
  return cur.disks.map((d) => {
    const p = before.get(d.name);
    // sectors in diskstats are always 512 bytes, whatever the device's real sector size
    const rate = (c: number, q: number | undefined) => (p ? round2((delta(c, q) * 512) / dtSec) : 0);
    return {
      device: d.name,
      read_bytes_per_s: rate(d.sectorsRead, p?.sectorsRead),
      write_bytes_per_s: rate(d.sectorsWritten, p?.sectorsWritten),
      util_pct: p ? round2(Math.min(100, (100 * delta(d.ioTicksMs, p.ioTicksMs)) / dtMs)) : 0,
      avgqu: p ? round2(delta(d.weightedIoTicksMs, p.weightedIoTicksMs) / dtMs) : 0,
    };
  });
}

/**
 * A link's speed changes only when it renegotiates, and reading it asks the driver (under the kernel's
 * network configuration lock, which a host busy creating interfaces holds often): re-read every few minutes.
 */
const SPEED_REFRESH_MS = 300_000;
const speedCache = new Map<string, { mbps: number | null; at: number }>();

function cachedNetSpeed(sysRoot: string, iface: string): number | null {
  const key = `${sysRoot}\0${iface}`;
  const now = performance.now();
  const hit = speedCache.get(key);
  if (hit && now - hit.at < SPEED_REFRESH_MS) return hit.mbps;
  const mbps = readNetSpeed(sysRoot, iface);
  if (speedCache.size > 1024) speedCache.clear(); // interfaces come and go (containers): never grow without end
  speedCache.set(key, { mbps, at: now });
  return mbps;
}

export function interfaceStats(cur: HostSample, prev: HostSample, dtSec: number, sysRoot: string): InterfaceStats[] {
  const before = new Map(prev.interfaces.map((i) => [i.name, i]));
  return cur.interfaces.map((i) => {
    const p = before.get(i.name);
    return {
      name: i.name,
      rx_bytes_per_s: p ? round2(delta(i.rxBytes, p.rxBytes) / dtSec) : 0,
      tx_bytes_per_s: p ? round2(delta(i.txBytes, p.txBytes) / dtSec) : 0,
      speed_mbps: cachedNetSpeed(sysRoot, i.name),
    };
  });
}

/**
 * Pseudo and in-memory filesystems say nothing about disk space. overlay is skipped too (a container's
 * image layers), except when it is "/" itself: inside a container that is the only view of its disk.
 */
const PSEUDO_FS = new Set([
  "proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "pstore",
  "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl", "autofs", "binfmt_misc", "nsfs", "efivarfs", "rpc_pipefs",
  "ramfs", "squashfs", "overlay", "selinuxfs", "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal", "nfsd", "iso9660",
]);

/** Watched mounts: the configured mount points, or every real filesystem; one entry per device. */
export function watchedMounts(mounts: MountEntry[], configured: readonly string[]): MountEntry[] {
  const seen = new Set<string>();
  const out: MountEntry[] = [];
  for (const m of mounts) {
    if (configured.length > 0) {
      if (!configured.includes(m.mountPoint)) continue;
    } else if (PSEUDO_FS.has(m.fstype) && !(m.fstype === "overlay" && m.mountPoint === "/")) {
      continue;
    }
    // the same device mounted twice (bind mounts) would be counted twice
    if (seen.has(m.device)) continue;
    seen.add(m.device);
    out.push(m);
  }
  return out;
}

export function filesystemStats(fs: ProcFs, configured: readonly string[], statfs: (p: string) => StatfsResult = statfsSync, errors: ErrorCounts): FilesystemStats[] {
  let mounts: MountEntry[];
  try {
    mounts = readMounts(fs);
  } catch {
    countError(errors, "mounts_read");
    return [];
  }
  const out: FilesystemStats[] = [];
  for (const m of watchedMounts(mounts, configured)) {
    let s: StatfsResult;
    try {
      s = statfs(m.mountPoint);
    } catch {
      countError(errors, "statfs_failed");
      continue;
    }
    const bs = Number(s.bsize);
    const total = Number(s.blocks) * bs;
    // an empty size means a pseudo filesystem we did not know by name
    if (total === 0 && configured.length === 0) continue;
    out.push({
      device: m.device,
      mount: m.mountPoint,
      fstype: m.fstype,
      total_bytes: total,
      // as df(1): used = total - free; free = what unprivileged users may still use
      used_bytes: (Number(s.blocks) - Number(s.bfree)) * bs,
      free_bytes: Number(s.bavail) * bs,
    });
  }
  return out;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
