// /sys/block: one entry per whole block device (disks, dm-*, md*, loop*); partitions live below their disk.
import { readdirSync } from "node:fs";

/** Names of whole block devices, or undefined when sysfs is not there to ask. */
export function readBlockDevices(sysRoot: string): Set<string> | undefined {
  try {
    return new Set(readdirSync(`${sysRoot}/block`));
  } catch {
    return undefined;
  }
}

/** Fallback without sysfs: the usual partition names (sda1, vdb2, nvme0n1p1, mmcblk0p1). */
export function looksLikePartition(name: string): boolean {
  return /^(?:[shv]d[a-z]+|xvd[a-z]+)\d+$/.test(name) || /^(?:nvme\d+n\d+|mmcblk\d+)p\d+$/.test(name);
}
