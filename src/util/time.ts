// Parsing the moments people type (--at, --from, --to) and printing ages. Pure: "now" is a parameter.

/** A time argument that could not be understood; the message says which forms are accepted. */
export class TimeParseError extends Error {
  override name = "TimeParseError";
}

const UNIT_MS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 7 * 86_400_000,
  week: 7 * 86_400_000,
  weeks: 7 * 86_400_000,
};

const ACCEPTED = `expected "now", "3h ago" (or "-3h", "90m ago", "2d ago"), "03:00" (the last 03:00), "today 09:30", "yesterday 03:00", "2026-11-24 03:00[:SS]", ISO 8601 ("2026-11-24T03:00:00Z") or epoch seconds/milliseconds`;

/** Local midnight of the day `ms` falls in, `daysBack` days earlier (DST-safe: built from the calendar). */
function localMidnight(ms: number, daysBack: number): Date {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() - daysBack);
}

/** "HH:MM[:SS]" on the local day `day`; a TimeParseError when the clock text is not valid. */
function atClock(day: Date, clock: string, input: string): number {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(clock);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) throw new TimeParseError(`"${input}" is not a valid time of day: ${ACCEPTED}`);
  return new Date(day.getFullYear(), day.getMonth(), day.getDate(), Number(m[1]), Number(m[2]), Number(m[3] ?? 0)).getTime();
}

/**
 * Epoch ms for a user-typed time. "YYYY-MM-DD HH:MM[:SS]" without an offset is local time (the TZ
 * of the process, like `date`); ISO strings with Z or an offset are absolute; 10-digit numbers are
 * epoch seconds and 13-digit ones epoch milliseconds.
 */
export function parseTime(input: string, nowMs: number): number {
  const s = input.trim();
  if (s === "") throw new TimeParseError(`empty time: ${ACCEPTED}`);
  if (/^now$/i.test(s)) return nowMs;

  // "03:00": the most recent 03:00 that is not in the future (today's, else yesterday's)
  if (/^\d{1,2}:\d{2}(:\d{2})?$/.test(s)) {
    const today = atClock(localMidnight(nowMs, 0), s, input);
    return today <= nowMs ? today : atClock(localMidnight(nowMs, 1), s, input);
  }
  const day = /^(today|yesterday)(?:\s+(\S+))?$/i.exec(s);
  if (day) {
    const midnight = localMidnight(nowMs, day[1]!.toLowerCase() === "today" ? 0 : 1);
    return day[2] === undefined ? midnight.getTime() : atClock(midnight, day[2], input);
  }

  const relative = /^(?:-\s*)?(\d+(?:\.\d+)?)\s*([a-z]+)(\s+ago)?$/i.exec(s);
  if (relative && (s.startsWith("-") || relative[3])) {
    const unit = UNIT_MS[relative[2]!.toLowerCase()];
    if (unit === undefined) throw new TimeParseError(`unknown unit "${relative[2]}" in "${input}": ${ACCEPTED}`);
    return nowMs - Math.round(Number(relative[1]) * unit);
  }

  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    const digits = s.split(".")[0]!.length;
    if (digits <= 11) return Math.round(n * 1000); // epoch seconds (until the year 5138)
    if (digits <= 14) return Math.round(n);
    throw new TimeParseError(`"${input}" is too large for an epoch time: ${ACCEPTED}`);
  }

  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/.exec(s);
  if (local) {
    const [y, mo, d, h = "0", mi = "0", sec = "0", frac = "0"] = local.slice(1);
    const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), Number(frac.padEnd(3, "0")));
    if (date.getMonth() !== Number(mo) - 1 || date.getDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) {
      throw new TimeParseError(`"${input}" is not a valid date and time`);
    }
    return date.getTime();
  }

  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(s)) {
    const ms = Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
    if (Number.isFinite(ms)) return ms;
  }
  throw new TimeParseError(`cannot understand the time "${input}": ${ACCEPTED}`);
}

/** "42s", "5m", "3h", "12d": how long ago, rounded down to the largest unit. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** "2026-11-24 03:00:00" in UTC: the unambiguous form used in output and JSON. */
export function formatUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** "2026-11-24 03:00:00" in the process's local time zone (TZ, like `date`). */
export function formatLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "HH:MM" of `ms` in UTC or local time. */
export function formatClock(ms: number, utc: boolean): string {
  return (utc ? formatUtc(ms) : formatLocal(ms)).slice(11, 16);
}

/** The name printed next to times: "UTC", or the local zone's offset and name ("+01:00 Europe/Berlin"). */
export function zoneLabel(ms: number, utc: boolean): string {
  if (utc) return "UTC";
  const offsetMin = -new Date(ms).getTimezoneOffset();
  if (offsetMin === 0 && /^(UTC|Etc\/UTC|Etc\/GMT|GMT)?$/.test(zoneName())) return "UTC";
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  const name = zoneName();
  return name ? `${offset} ${name}` : offset;
}

function zoneName(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
  } catch {
    return "";
  }
}

/** A time for humans: "2026-11-24 03:00:00" in UTC or local time (say which with zoneLabel). */
export function formatTime(ms: number, utc: boolean): string {
  return utc ? formatUtc(ms) : formatLocal(ms);
}
