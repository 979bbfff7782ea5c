// Number formatting shared by the status and top tables. Unknown values print as "-", never as 0.

export type Maybe = number | null | undefined;

const known = (v: Maybe): v is number => typeof v === "number" && Number.isFinite(v);

/** 1536 -> "1.5 KiB"; binary units like free(1) and the dashboards. */
export function formatBytes(v: Maybe): string {
  if (!known(v)) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let n = Math.abs(v);
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  const text = i === 0 ? String(Math.round(n)) : n >= 100 ? n.toFixed(0) : n.toFixed(1);
  return `${v < 0 ? "-" : ""}${text} ${units[i]}`;
}

export function formatRate(v: Maybe): string {
  return known(v) ? `${formatBytes(v)}/s` : "-";
}

/** 12.345 -> "12.3%" */
export function formatPct(v: Maybe, digits = 1): string {
  return known(v) ? `${v.toFixed(digits)}%` : "-";
}

/** a share in 0..1 -> "42.0%" */
export function formatShare(v: Maybe): string {
  return known(v) ? `${(v * 100).toFixed(1)}%` : "-";
}

export function formatNumber(v: Maybe, digits = 2): string {
  return known(v) ? v.toFixed(digits) : "-";
}
