// Every configuration key pmon knows, with its type, default and allowed range.
// conf/pmon.toml documents the same keys; test/integration/config/load.test.ts checks the two agree.

export type KeyType = "int" | "number" | "string" | "boolean" | "string[]";

export interface KeySpec {
  type: KeyType;
  default: number | string | boolean | string[];
  min?: number;
  max?: number;
  /** allowed values for strings */
  oneOf?: readonly string[];
}

const GiB = 1024 ** 3;

export const KEYS = {
  // [agent]: what the agent collects and where it reports
  "agent.host": { type: "string", default: "" }, // empty = the machine's hostname
  "agent.servers": { type: "string[]", default: ["http://127.0.0.1:9300"] },
  "agent.secret_file": { type: "string", default: "" }, // empty = <data_dir>/agent.secret (the host's private key)
  "agent.server_keys": { type: "string[]", default: [] }, // pinned public keys of the servers' reply key
  "agent.ca_file": { type: "string", default: "" }, // PEM CA certificates for https servers; empty = the system's
  "agent.interval_s": { type: "int", default: 30, min: 1, max: 3600 },
  "agent.jitter_s": { type: "number", default: 5, min: 0, max: 600 },
  "agent.sample_ms": { type: "int", default: 1000, min: 100, max: 60000 },
  "agent.mounts": { type: "string[]", default: [] }, // empty = every real filesystem
  "agent.top_n": { type: "int", default: 10, min: 0, max: 1000 },
  "agent.proc_root": { type: "string", default: "/proc" },
  "agent.sys_root": { type: "string", default: "/sys" },
  "agent.data_dir": { type: "string", default: "/var/lib/pmon" },
  "agent.spool_max_mb": { type: "int", default: 256, min: 1, max: 1024 * 1024 },
  "agent.spool_max_age_h": { type: "int", default: 72, min: 1, max: 24 * 365 },
  "agent.replay_per_s": { type: "number", default: 8, min: 0.1, max: 10000 },
  // words whose values are masked in command lines, added to the built-in list (src/collect/mask.ts)
  "agent.sensitive_words": { type: "string[]", default: [] },
  "agent.log_file": { type: "string", default: "" }, // empty = stderr
  "agent.log_max_mb": { type: "int", default: 20, min: 1, max: 10240 },

  // [thresholds]: a process, connection or disk is kept when it passes any one of these
  "thresholds.process_cpu_pct": { type: "number", default: 200, min: 0, max: 100000 },
  "thresholds.process_mem_gib": { type: "number", default: 5, min: 0, max: 1024 * 1024 },
  "thresholds.disk_io_mib_s": { type: "number", default: 10, min: 0, max: 1024 * 1024 },
  "thresholds.net_mib_s": { type: "number", default: 10, min: 0, max: 1024 * 1024 },
  "thresholds.disk_util_pct": { type: "number", default: 50, min: 0, max: 100 },
  "thresholds.disk_avgqu": { type: "number", default: 5, min: 0, max: 1e9 },

  // [server]: the receiver, the store and the manager loop
  "server.listen": { type: "string", default: "0.0.0.0:9300" },
  "server.url": { type: "string", default: "http://127.0.0.1:9300" }, // where CLI commands reach the server
  "server.storage": { type: "string", default: "" }, // mysql://user:pass@host:port/db | sqlite:PATH; empty = sqlite in data_dir
  "server.data_dir": { type: "string", default: "/var/lib/pmon" },
  "server.retention_days": { type: "int", default: 30, min: 1, max: 3650 },
  "server.max_body_mb": { type: "number", default: 8, min: 0.01, max: 1024 },
  "server.max_inflight_mb": { type: "number", default: 64, min: 1, max: 65536 }, // request bodies being read at once, all hosts
  "server.host_reports_per_s": { type: "number", default: 10, min: 0.1, max: 100000 }, // per host, bursts of twice this
  "server.reply_key_file": { type: "string", default: "" }, // empty = <data_dir>/reply.key
  "server.max_skew_s": { type: "int", default: 300, min: 1, max: 86400 }, // signed timestamps outside this are refused
  "server.clock_warn_s": { type: "int", default: 30, min: 1, max: 86400 },
  "server.tls_cert": { type: "string", default: "" },
  "server.tls_key": { type: "string", default: "" },
  "server.operator_secret_file": { type: "string", default: "" }, // empty = <data_dir>/operator.secret
  "server.manager_interval_s": { type: "int", default: 30, min: 1, max: 3600 },
  "server.heartbeat_s": { type: "int", default: 10, min: 1, max: 3600 }, // `pmon status` calls the server down after 3 missed beats
  "server.ui": { type: "boolean", default: true }, // the web UI at / (docs/ui.md)
  "server.adopt_legacy_hosts": { type: "boolean", default: false }, // deploy to / remove the old tool's hosts without `pmon enroll`

  // [deploy]: how `pmon enroll` and the manager loop reach hosts
  "deploy.ssh_user": { type: "string", default: "root" },
  "deploy.ssh_port": { type: "int", default: 22, min: 1, max: 65535 },
  "deploy.identity": { type: "string", default: "" },
  "deploy.known_hosts": { type: "string", default: "" },
  "deploy.strict_host_key_checking": { type: "string", default: "accept-new", oneOf: ["yes", "accept-new", "no"] },
  "deploy.connect_timeout_s": { type: "int", default: 10, min: 1, max: 300 },
  "deploy.install_dir": { type: "string", default: "/opt/pmon" },
  "deploy.parallel": { type: "int", default: 10, min: 1, max: 1000 },
  "deploy.servers": { type: "string[]", default: [] }, // addresses agents report to; empty = server.url
  "deploy.rollout_max_failed_pct": { type: "number", default: 20, min: 0, max: 100 },
  "deploy.use_systemd": { type: "string", default: "auto", oneOf: ["auto", "yes", "no"] },
  "deploy.remove_legacy_dir": { type: "boolean", default: false }, // delete the old Python client's directory on takeover

  // [alerts]: rules and message language; channels are [[alerts.channels]] tables
  "alerts.language": { type: "string", default: "zh", oneOf: ["zh", "en"] },
  "alerts.silent_after_s": { type: "int", default: 120, min: 1, max: 86400 },
  "alerts.repeat_every_s": { type: "int", default: 600, min: 1, max: 86400 },
  "alerts.max_repeats": { type: "int", default: 10, min: 1, max: 1000 },
  "alerts.server_down_rounds": { type: "int", default: 3, min: 1, max: 100 },
  "alerts.cpu_pct": { type: "number", default: 90, min: 0, max: 100 },
  "alerts.cpu_for_s": { type: "int", default: 300, min: 0, max: 86400 },
  "alerts.mem_pct": { type: "number", default: 95, min: 0, max: 100 },
  "alerts.mem_for_s": { type: "int", default: 0, min: 0, max: 86400 },
  "alerts.fs_pct": { type: "number", default: 90, min: 0, max: 100 },
  "alerts.util_pct": { type: "number", default: 90, min: 0, max: 100 },
  "alerts.util_for_s": { type: "int", default: 300, min: 0, max: 86400 },
  "alerts.timeout_s": { type: "int", default: 10, min: 1, max: 300 },
  "alerts.tries": { type: "int", default: 3, min: 1, max: 10 }, // delivery attempts per channel
  "alerts.retry_backoff_ms": { type: "int", default: 1000, min: 0, max: 600000 }, // doubles per retry: 1 s, 2 s, 4 s
  "alerts.check_every_s": { type: "number", default: 30, min: 0.05, max: 3600 }, // silent-host pass cadence
  "alerts.witness_fresh_s": { type: "number", default: 75, min: 0.05, max: 86400 }, // a witness reported this recently
  "alerts.server_down_witnesses": { type: "string[]", default: [] }, // hosts whose deployed config holds the channels

  // [log]
  "log.level": { type: "string", default: "info", oneOf: ["silent", "error", "warn", "info", "debug", "trace"] },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof KEYS;

export const CHANNEL_TYPES = ["wecom", "dingtalk", "feishu", "webhook"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** One alert destination; `secret` is the signing secret DingTalk and Feishu robots may require. */
export interface AlertChannel {
  type: ChannelType;
  url: string;
  secret?: string;
}

type Widen<T> = T extends readonly string[] ? string[] : T extends number ? number : T extends string ? string : T extends boolean ? boolean : T;
type Section<S extends string> = {
  readonly [K in ConfigKey as K extends `${S}.${infer Rest}` ? Rest : never]: Widen<(typeof KEYS)[K]["default"]>;
};

/** The configuration after defaults, file, environment and flags are merged and checked. */
export interface ResolvedConfig {
  readonly agent: Section<"agent">;
  readonly thresholds: Section<"thresholds">;
  readonly server: Section<"server">;
  readonly deploy: Section<"deploy">;
  readonly alerts: Section<"alerts"> & { readonly channels: readonly AlertChannel[] };
  readonly log: Section<"log">;
  /** the file it came from, if any */
  readonly source?: string;
}

export const SECTIONS = ["agent", "thresholds", "server", "deploy", "alerts", "log"] as const;

export { GiB };
