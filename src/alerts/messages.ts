// Alert texts in Chinese (default, keeps the old system's wording) and English. Pure functions:
// every message names the host, what happened and since when; recoveries say how long it lasted.

export type Language = "zh" | "en";

/** alerts.language as a Language (the config already refuses anything but zh and en). */
export function asLanguage(s: string): Language {
  return s === "en" ? "en" : "zh";
}

/** "45s", "2min", "1h5min", "2d3h": short enough for a phone screen, and the old "2min" style. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}min` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

/** 'YYYY-MM-DD HH:MM:SS UTC': the server clock, with its zone spelled out. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ") + " UTC";
}

export function silentFiring(lang: Language, a: { host: string; afterS: number; since: number; count: number; max: number }): string {
  const after = formatDuration(a.afterS * 1000);
  if (lang === "en") {
    return `pmon: host not reporting for over ${after}: ${a.host} (silent since ${formatTime(a.since)}, alert ${a.count}/${a.max})`;
  }
  return `进程监控, 超过${after}未上报的节点有 : ${a.host} (自 ${formatTime(a.since)} 起未上报, 第 ${a.count}/${a.max} 次告警)`;
}

export function silentResolved(lang: Language, a: { host: string; afterS: number; since: number; until: number }): string {
  const after = formatDuration(a.afterS * 1000);
  const lasted = formatDuration(a.until - a.since);
  if (lang === "en") {
    return `RESOLVED pmon: host reporting again: ${a.host} (was silent for ${lasted}, since ${formatTime(a.since)})`;
  }
  return `告警恢复: 进程监控, 超过${after}未上报的节点有 : ${a.host} (已恢复上报, 持续 ${lasted}, 自 ${formatTime(a.since)} 起)`;
}

export function serverDownFiring(lang: Language, a: { reporter: string; servers: readonly string[]; since: number; rounds: number }): string {
  const servers = a.servers.join(",");
  if (lang === "en") {
    return `pmon: ${a.reporter} reports: no pmon server accepts reports: ${servers} (failing since ${formatTime(a.since)}, ${a.rounds} rounds in a row)`;
  }
  return `${a.reporter} 报告, 进程监控, server 端连接异常 : ${servers} (自 ${formatTime(a.since)} 起, 连续 ${a.rounds} 轮失败)`;
}

export function serverDownResolved(lang: Language, a: { reporter: string; servers: readonly string[]; since: number; until: number }): string {
  const lasted = formatDuration(a.until - a.since);
  if (lang === "en") {
    return `RESOLVED pmon: ${a.reporter} reports: a pmon server accepts reports again (outage lasted ${lasted}, since ${formatTime(a.since)})`;
  }
  return `告警恢复: ${a.reporter} 报告, 进程监控, server 端连接恢复 : ${a.servers.join(",")} (持续 ${lasted}, 自 ${formatTime(a.since)} 起)`;
}

/** A process named in a saturation alert, with its share of the host resource. */
export interface Culprit {
  pid: number;
  /** command plus its instance label: "mysqld --port=3307" */
  label: string;
  share_pct: number;
}

export type SaturationWhat = "cpu" | "mem" | "fs" | "util";

const WHAT_EN: Record<SaturationWhat, string> = { cpu: "CPU", mem: "memory", fs: "filesystem", util: "disk util" };
const WHAT_ZH: Record<SaturationWhat, string> = { cpu: "CPU", mem: "内存", fs: "磁盘空间", util: "磁盘繁忙度" };

function culpritList(culprits: readonly Culprit[]): string {
  return culprits.map((c) => `${c.label} (pid ${c.pid}) ${Math.round(c.share_pct)} %`).join(", ");
}

export function saturationFiring(
  lang: Language,
  a: { host: string; what: SaturationWhat; target?: string; value_pct: number; threshold_pct: number; since: number; lasted_ms: number; culprits: readonly Culprit[] },
): string {
  const target = a.target ? ` ${a.target}` : "";
  const pct = `${Math.round(a.value_pct)} %`;
  const who = a.culprits.length ? `; ${culpritList(a.culprits)}` : "";
  if (lang === "en") {
    return `pmon: ${a.host}: ${WHAT_EN[a.what]}${target} ${pct} for ${formatDuration(a.lasted_ms)} (limit ${a.threshold_pct} %, since ${formatTime(a.since)})${who}`;
  }
  return `进程监控, 节点 ${a.host} ${WHAT_ZH[a.what]}${target} ${pct} 持续 ${formatDuration(a.lasted_ms)} (阈值 ${a.threshold_pct} %, 自 ${formatTime(a.since)} 起)${who}`;
}

export function saturationResolved(lang: Language, a: { host: string; what: SaturationWhat; target?: string; value_pct: number; since: number; until: number }): string {
  const target = a.target ? ` ${a.target}` : "";
  const lasted = formatDuration(a.until - a.since);
  if (lang === "en") {
    return `RESOLVED pmon: ${a.host}: ${WHAT_EN[a.what]}${target} back to ${Math.round(a.value_pct)} % (lasted ${lasted}, since ${formatTime(a.since)})`;
  }
  return `告警恢复: 进程监控, 节点 ${a.host} ${WHAT_ZH[a.what]}${target} 已降至 ${Math.round(a.value_pct)} % (持续 ${lasted}, 自 ${formatTime(a.since)} 起)`;
}

export type FleetEventKind = "deploy_failed" | "rolled_back";

export function fleetEventFiring(lang: Language, a: { host: string; kind: FleetEventKind; message: string; since: number }): string {
  if (lang === "en") {
    const what = a.kind === "deploy_failed" ? "deployment failed" : "upgrade rolled back";
    return `pmon: node management error: ${a.host}: ${what}: ${a.message} (since ${formatTime(a.since)})`;
  }
  const what = a.kind === "deploy_failed" ? "部署失败" : "升级已回滚";
  return `进程监控, 节点管理异常 : ${a.host} ${what}: ${a.message} (自 ${formatTime(a.since)} 起)`;
}

export function fleetEventResolved(lang: Language, a: { host: string; kind: FleetEventKind; since: number; until: number }): string {
  const lasted = formatDuration(a.until - a.since);
  if (lang === "en") return `RESOLVED pmon: node management back to normal: ${a.host} (lasted ${lasted}, since ${formatTime(a.since)})`;
  return `告警恢复: 进程监控, 节点管理恢复正常 : ${a.host} (持续 ${lasted}, 自 ${formatTime(a.since)} 起)`;
}
