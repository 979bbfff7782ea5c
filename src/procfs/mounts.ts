// /proc/self/mounts (fstab format): "device mountpoint fstype options dump pass"; spaces etc. are octal escapes.
import type { ProcFs } from "./fs.ts";
import { isGone } from "./errors.ts";

export interface MountEntry {
  device: string;
  mountPoint: string;
  fstype: string;
}

/** "\040" -> " " and friends, as the kernel escapes space, tab, newline and backslash. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length < 3 || f[0] === "") continue;
    out.push({ device: unescapeMountField(f[0]!), mountPoint: unescapeMountField(f[1]!), fstype: f[2]! });
  }
  return out;
}

/** Mounts as seen by this process; falls back to <root>/mounts where self/ is absent. */
export function readMounts(fs: ProcFs): MountEntry[] {
  try {
    return parseMounts(fs.readText(`${fs.root}/self/mounts`));
  } catch (e) {
    if (!isGone(e)) throw e;
    return parseMounts(fs.readText(`${fs.root}/mounts`));
  }
}
