// `pmon server` as a library: opens the store, starts HTTP, the ingest writer, retention and the
// manager/alert loops, and returns a handle whose stop() drains everything in order.
import { join } from "node:path";
import { ConfigError } from "../config/load.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Report } from "../protocol/report.ts";
import type { Db } from "../store/db.ts";
import { getHost, hostAuthRows, recordReportSeen } from "../store/hosts.ts";
import { adoptLegacyHosts } from "../store/legacy.ts";
import { openStore } from "../store/open.ts";
import { writeReports } from "../store/reports.ts";
import { agentAlertEntry, recordAlerts } from "../store/alert-log.ts";
import { preparePartitions, runRetention } from "../store/retention.ts";
import { hostStateCounts, hostStatuses } from "../store/status.ts";
import { VERSION } from "../version.ts";
import { createApp, type App, type AppDeps } from "./app.ts";
import { loadOperatorSecret } from "./auth.ts";
import { createSkewTracker } from "./clock.ts";
import { serverId, startHeartbeat } from "./heartbeat.ts";
import { createIngest, type Ingest } from "./ingest.ts";
import { parseListen } from "./listen.ts";
import { createMetrics, type ServerMetrics } from "./metrics.ts";
import { startManager } from "../fleet/manager.ts";
import { createAlertService } from "../alerts/loop.ts";
import type { KeyObject } from "node:crypto";
import { privateDir } from "../util/private-files.ts";
import { loadReplyKey, replyKeyPath } from "../keys/reply-key.ts";
import { uiRoutes } from "../ui/routes.ts";

export interface ServerHandle {
  /** the bound port (useful with port 0) */
  port: number;
  url: string;
  app: App;
  db: Db;
  metrics: ServerMetrics;
  /** stop accepting, finish in-flight requests, drain the ingest queue, stop loops, close the store */
  stop(): Promise<void>;
}

/** Stops one of the server's background loops (manager, alerts, retention). */
type StopLoop = () => Promise<void> | void;

const HOUR_MS = 3_600_000;

export interface ServerCore {
  app: App;
  ingest: Ingest;
  metrics: ServerMetrics;
}

/** The app and ingest queue over an open store: what runServer serves, and what tests drive in-process. */
export function createServerCore(
  config: ResolvedConfig,
  db: Db,
  log: Logger,
  operatorHash: string,
  opts: Pick<AppDeps, "hostCacheMs" | "now" | "replyExtras"> & { replyKey?: KeyObject; onArrivals?: (items: { report: Report; receivedAt: number; replay: boolean }[]) => void } = {},
): ServerCore {
  const s = config.server;
  const { replyKey = loadReplyKey(replyKeyPath(s), { create: true }).privateKey, onArrivals, ...appOpts } = opts;
  const metrics = createMetrics();
  const skew = createSkewTracker(s.clock_warn_s, log.withTag("server"), metrics);
  const writeOpts = { diskUtilPct: config.thresholds.disk_util_pct, diskAvgqu: config.thresholds.disk_avgqu, clockAllowanceMs: s.clock_warn_s * 1000 };
  const ingest: Ingest = createIngest({
    // alerts an agent sent itself (server_down) go into the alert log with its report; in the same
    // write so a store failure makes the agent resend both (the log keeps each message once)
    write: async (items) => {
      const outcomes = await writeReports(db, items, writeOpts);
      await recordAlerts(db, items.flatMap(({ report }) => (report.alerts_sent ?? []).map((a) => agentAlertEntry(report.host, a))));
      return outcomes;
    },
    afterWrite: (items) => recordArrivals(db, items, skew, s.max_skew_s * 1000).finally(() => onArrivals?.(items)),
    metrics,
    log,
  });
  const app = createApp({
    log,
    metrics,
    ingest,
    getHost: (host) => getHost(db, host),
    allHosts: () => hostAuthRows(db),
    listHosts: (now) => hostStatuses(db, now, { silentAfterMs: config.alerts.silent_after_s * 1000 }),
    hostCounts: (now) => hostStateCounts(db, now, config.alerts.silent_after_s * 1000),
    operatorHash,
    replyKey,
    maxBodyBytes: Math.round(s.max_body_mb * 1024 * 1024),
    maxInflightBytes: Math.round(s.max_inflight_mb * 1024 * 1024),
    hostReportsPerS: s.host_reports_per_s,
    maxSkewS: s.max_skew_s,
    pingStore: async () => {
      await db.query("SELECT 1");
    },
    ...appOpts,
  });
  return { app, ingest, metrics };
}

export async function runServer(config: ResolvedConfig, log: Logger): Promise<ServerHandle> {
  const s = config.server;
  const startedAt = Date.now();
  const slog = log.withTag("server");
  // settings first: a bad one must fail before the store is opened
  const { hostname, port } = parseListen(s.listen);
  if (Boolean(s.tls_cert) !== Boolean(s.tls_key)) throw new ConfigError("server.tls_cert and server.tls_key must be set together");
  privateDir(s.data_dir);
  const operatorFile = s.operator_secret_file || join(s.data_dir, "operator.secret");
  const operator = loadOperatorSecret(operatorFile);
  if (operator.created) slog.info(`created operator secret ${operatorFile} (mode 0600)`);
  const replyKey = loadReplyKey(replyKeyPath(s), { create: true });
  if (replyKey.created) slog.info(`created the fleet reply key ${replyKey.path} (mode 0600); copy this file to every other server of the fleet (docs/security.md)`);
  slog.info(`reply key ${replyKey.publicKey}`);
  const db = await openStore(s, log);
  // Today's partitions exist before the first report arrives, so the retention pass below does not
  // have to split rows off pmax while reports are written (id-counter.ts).
  await preparePartitions(db, Date.now()).catch(async (e) => {
    await db.close().catch(() => {});
    throw e;
  });
  if (s.adopt_legacy_hosts) {
    const n = await adoptLegacyHosts(db, Date.now()).catch(async (e) => {
      await db.close().catch(() => {});
      throw e;
    });
    if (n) slog.info(`server.adopt_legacy_hosts: ${n} old tool's host(s) handed to the manager (istate 1/2 deploy, 0 remove)`);
  }
  // witnesses in every reply, saturation checks on every stored batch
  const alerts = createAlertService({ config, log, db });
  const { app, ingest, metrics } = createServerCore(config, db, log, operator.hash, { replyKey: replyKey.privateKey, replyExtras: () => ({ witnesses: alerts.witnesses() }), onArrivals: (items) => alerts.onArrivals(items) });

  const tls = s.tls_cert ? { cert: Bun.file(s.tls_cert), key: Bun.file(s.tls_key) } : undefined;
  let http: ReturnType<typeof Bun.serve>;
  try {
    http = Bun.serve({
      hostname,
      port,
      fetch: (req) => app.fetch(req),
      // the web UI: its page and /ui/api/ (src/ui/routes.ts); everything else goes to the app
      ...(s.ui ? { routes: uiRoutes({ db, config, log, operatorHash: operator.hash, tls: Boolean(tls), queueDepth: () => ingest.depth }) } : {}),
      development: false, // the UI page bundled once, as in the compiled binary (no dev client, no HMR)
      // Bun binds with SO_REUSEPORT unless told not to: a second server on a taken port would then
      // share it silently (half the reports to each) instead of failing with "cannot listen"
      reusePort: false,
      // our own limit answers 413 with a reason; Bun's is a backstop for absurd bodies
      maxRequestBodySize: Math.round(s.max_body_mb * 1024 * 1024) * 2 + 1024,
      ...(tls ? { tls } : {}),
    });
  } catch (e) {
    // e.g. the port is taken: close the store so the process can exit with the error
    await db.close().catch(() => {});
    throw new Error(`cannot listen on ${s.listen}${tls ? " with TLS" : ""}: ${(e as Error).message}`);
  }
  const boundPort = http.port ?? port;
  const scheme = tls ? "https" : "http";
  const address = `${hostname}:${boundPort}`;
  slog.info(`pmon server ${VERSION} listening on ${scheme}://${address}, storage ${db.dialect}`);

  const loops: StopLoop[] = [];
  loops.push(startHeartbeat(db, { serverId: serverId(address), address, version: VERSION, startedAt }, s.heartbeat_s * 1000, slog));
  loops.push(startRetention(db, s.retention_days, slog));
  loops.push(startManager({ config, log, db })); // deploy, remove, upgrade
  loops.push(alerts.start()); // silent-host pass and witness refresh

  let stopping: Promise<void> | undefined;
  return {
    port: boundPort,
    url: `${scheme}://${hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname}:${boundPort}`,
    app,
    db,
    metrics,
    stop() {
      stopping ??= (async () => {
        slog.info("stopping: refusing new reports, draining the ingest queue");
        app.close();
        const inFlight = http.stop(false);
        await ingest.drain();
        await inFlight;
        for (const stop of loops.reverse()) await stop();
        await db.close();
        slog.info("stopped");
      })();
      return stopping;
    },
  };
}

/** last_report_at (server clock), agent version and clock skew per host, once per batch. */
async function recordArrivals(db: Db, items: { report: Report; receivedAt: number; replay: boolean }[], skew: ReturnType<typeof createSkewTracker>, maxSkewMs: number): Promise<void> {
  const latest = new Map<string, { report: Report; receivedAt: number; replay: boolean }>();
  for (const it of items) {
    const prev = latest.get(it.report.host);
    // Spooled reports are old by design: they say nothing about the agent's clock now.
    if (!prev || (prev.replay && !it.replay) || (prev.replay === it.replay && it.receivedAt >= prev.receivedAt)) latest.set(it.report.host, it);
  }
  // one UPDATE per host, side by side on the pool's connections
  await Promise.all(
    [...latest].map(([host, it]) => {
      // Clamped to the signed-time tolerance: an agent whose clock is further off cannot sign a request
      // the server accepts, so a larger figure is a wrong report time, not the host's clock.
      const skewMs = it.replay ? undefined : clampSkew(it.report.time - it.receivedAt, maxSkewMs);
      if (skewMs !== undefined) skew.observe(host, skewMs);
      return recordReportSeen(db, host, { receivedAt: it.receivedAt, agentTime: it.report.time, agentVersion: it.report.agent_version, clockSkewMs: skewMs });
    }),
  );
}

export function clampSkew(skewMs: number, maxSkewMs: number): number {
  return Math.max(-maxSkewMs, Math.min(maxSkewMs, skewMs));
}

function startRetention(db: Db, days: number, log: Logger): StopLoop {
  let running: Promise<void> = Promise.resolve();
  const once = () => {
    running = runRetention(db, Date.now(), days)
      .then(() => undefined)
      .catch((e) => log.warn(`retention failed: ${(e as Error).message}`));
  };
  once();
  const timer = setInterval(once, HOUR_MS);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
