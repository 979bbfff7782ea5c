import { defineCommand } from "citty";
import { stdout } from "../util/output.ts";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedConfig } from "../config/schema.ts";
import { getHosts, ServerUnreachableError } from "../client/api.ts";
import { openDb, redactUrl, StoreUnavailableError, type Db } from "../store/db.ts";
import { storageUrl } from "../store/open.ts";
import { isProblem, type HostStatus } from "../protocol/api.ts";
import { lastHeartbeat } from "../store/servers.ts";
import { hostStatuses } from "../store/status.ts";
import { renderStatus, type ServerSeen } from "../view/status.ts";
import { commonArgs, runWithConfig, UserError, wantColour } from "./_shared.ts";
import { EXIT } from "./exit-codes.ts";
import { terminalJson } from "../util/terminal.ts";

type Source = "store" | "api";

/** auto: the store when it is reachable from here (a MySQL URL, or an existing SQLite file), else the server's API. */
function chooseSource(wanted: string, server: ResolvedConfig["server"]): Source {
  if (wanted === "store" || wanted === "api") return wanted;
  if (wanted !== "auto") throw new UserError(`--source must be store, api or auto, got "${wanted}"`, EXIT.USAGE);
  const url = storageUrl(server);
  if (url.startsWith("mysql://")) return "store";
  const path = url.slice("sqlite:".length);
  return path === ":memory:" || !existsSync(path) ? "api" : "store";
}

/** Opens the store read-only in spirit: no migration, and a missing SQLite file is an error, not a new database. */
export async function withStore<T>(server: ResolvedConfig["server"], fn: (db: Db) => Promise<T>, useApi = ""): Promise<T> {
  const url = storageUrl(server);
  if (url.startsWith("sqlite:") && !existsSync(url.slice("sqlite:".length))) {
    throw new UserError(`no pmon database at ${url.slice("sqlite:".length)} (set server.storage or server.data_dir${useApi})`, EXIT.USAGE);
  }
  let db: Db;
  try {
    db = openDb(url);
  } catch (e) {
    throw new UserError(`cannot open ${redactUrl(url)}: ${(e as Error).message}`, EXIT.USAGE);
  }
  try {
    return await fn(db);
  } catch (e) {
    if (e instanceof StoreUnavailableError) throw new UserError(`cannot reach the store ${redactUrl(url)}: ${e.message}`, EXIT.SERVER_DOWN);
    const msg = (e as Error).message ?? String(e);
    if (/no such table|doesn't exist/i.test(msg)) throw new UserError(`${redactUrl(url)} has no pmon tables yet (has \`pmon server\` run against it?)`, EXIT.SERVER_DOWN);
    throw e;
  } finally {
    await db.close().catch(() => {});
  }
}

async function fromApi(config: ResolvedConfig): Promise<HostStatus[]> {
  const secretFile = config.server.operator_secret_file || join(config.server.data_dir, "operator.secret");
  let secret: string;
  try {
    secret = readFileSync(secretFile, "utf8").trim();
  } catch (e) {
    throw new UserError(`--source api needs the operator secret, and ${secretFile} cannot be read: ${(e as NodeJS.ErrnoException).code ?? e} (set server.operator_secret_file or server.data_dir)`, EXIT.USAGE);
  }
  let reply;
  try {
    reply = await getHosts(config.server.url, secret);
  } catch (e) {
    throw new UserError((e as Error).message, e instanceof ServerUnreachableError ? EXIT.SERVER_DOWN : EXIT.BAD_NEWS);
  }
  return reply.hosts;
}

/** Whether a server wrote its heartbeat in the last 3 beats; `undefined` last = none ever did. */
async function serverSeen(db: Db, now: number, heartbeatS: number): Promise<ServerSeen> {
  const last = await lastHeartbeat(db);
  return { fresh: last !== undefined && now - last.a_time <= 3 * heartbeatS * 1000, last };
}

export default defineCommand({
  meta: {
    name: "status",
    description: "Every host: state, agent version, last report, CPU, memory, disks, network, top process. Exits 1 when a host is silent or failed, 3 when the server is down.",
  },
  args: {
    ...commonArgs,
    host: { type: "positional", description: "Only these hosts (default: every host)", required: false, valueHint: "HOST..." },
    json: { type: "boolean", description: "Print JSON for scripts" },
    source: { type: "string", description: "Where to read: store (the database), api (the server's GET /v1/hosts) or auto", default: "auto" },
    all: { type: "boolean", description: "Also list removed hosts" },
    utc: { type: "boolean", description: "Print times in UTC instead of the local time zone" },
    color: { type: "boolean", description: "Colour the table (default: when stdout is a terminal and NO_COLOR is unset)" },
  },
  async run({ args }) {
    await runWithConfig(args, {}, async ({ config }) => {
      const now = Date.now();
      const source = chooseSource(String(args.source), config.server);
      const silentAfterMs = config.alerts.silent_after_s * 1000;
      let server: ServerSeen | undefined;
      let all: HostStatus[];
      if (source === "store") {
        [all, server] = await withStore(config.server, async (db) => [await hostStatuses(db, now, { silentAfterMs }), await serverSeen(db, now, config.server.heartbeat_s)], " or use --source api");
      } else {
        all = await fromApi(config); // it answered: the server is up
      }
      const wanted = args._ as string[];
      const unknown = wanted.filter((h) => !all.some((s) => s.host === h));
      if (unknown.length) throw new UserError(`pmon status: not enrolled: ${unknown.join(", ")}`, EXIT.BAD_NEWS);
      // removed hosts only with --all, or when named
      const hosts = wanted.length ? all.filter((s) => wanted.includes(s.host)) : args.all ? all : all.filter((h) => h.state !== "removed");
      const colour = args.color ?? wantColour();
      const down = server !== undefined && !server.fresh;
      stdout().write(
        args.json
          ? terminalJson({ hosts, ...(server ? { server: { up: server.fresh, last_heartbeat_at: server.last?.a_time ?? null, address: server.last?.address ?? null } } : {}) }) + "\n"
          : renderStatus(hosts, { colour, now, utc: args.utc === true, server }),
      );
      return down ? EXIT.SERVER_DOWN : hosts.some(isProblem) ? EXIT.BAD_NEWS : EXIT.OK;
    });
  },
});
