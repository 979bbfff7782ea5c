// /proc/uptime: "seconds-since-boot idle-seconds". The first number is CLOCK_BOOTTIME: monotonic, and the
// same clock process start times are measured in, so rates are computed over it.
import type { ProcFs } from "./fs.ts";
import { ProcParseError } from "./errors.ts";

export function parseUptime(text: string, file = "uptime"): number {
  const s = Number(text.slice(0, text.indexOf(" ")));
  if (!Number.isFinite(s) || s < 0 || text.indexOf(" ") < 1) throw new ProcParseError(file, `malformed ${JSON.stringify(text.trim())}`);
  return s;
}

/** Seconds since boot. */
export function readUptime(fs: ProcFs): number {
  const path = `${fs.root}/uptime`;
  return parseUptime(fs.readText(path), path);
}
