import { defineCommand } from "citty";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedConfig } from "../config/schema.ts";
import { getHosts } from "../client/api.ts";
import { openDb, redactUrl, StoreUnavailableError, type Db } from "../store/db.ts";
import { storageUrl } from "../store/open.ts";
import { isProblem, type HostStatus } from "../protocol/api.ts";
import { hostStatuses } from "../store/status.ts";
import { renderStatus } from "../view/status.ts";
import { commonArgs, runWithConfig, UserError } from "./_shared.ts";
import { terminalJson } from "../util/terminal.ts";

type Source = "store" | "api";

/** auto: the store when it is reachable from here (a MySQL URL, or an existing SQLite file), else the server's API. */
function chooseSource(wanted: string, server: ResolvedConfig["server"]): Source {
  if (wanted === "store" || wanted === "api") return wanted;
  if (wanted !== "auto") throw new UserError(`--from must be store, api or auto, got "${wanted}"`);
  const url = storageUrl(server);
  if (url.startsWith("mysql://")) return "store";
  const path = url.slice("sqlite:".length);
  return path === ":memory:" || !existsSync(path) ? "api" : "store";
}

/** Opens the store read-only in spirit: no migration, and a missing SQLite file is an error, not a new database. */
export async function withStore<T>(server: ResolvedConfig["server"], fn: (db: Db) => Promise<T>): Promise<T> {
  const url = storageUrl(server);
  if (url.startsWith("sqlite:") && !existsSync(url.slice("sqlite:".length))) {
    throw new UserError(`no pmon database at ${url.slice("sqlite:".length)} (set server.storage or server.data_dir, or use --from api)`);
  }
  let db: Db;
  try {
    db = openDb(url);
  } catch (e) {
    throw new UserError(`cannot open ${redactUrl(url)}: ${(e as Error).message}`);
  }
  try {
    return await fn(db);
  } catch (e) {
    if (e instanceof StoreUnavailableError) throw new UserError(`cannot reach the store ${redactUrl(url)}: ${e.message}`);
    const msg = (e as Error).message ?? String(e);
    if (/no such table|doesn't exist/i.test(msg)) throw new UserError(`${redactUrl(url)} has no pmon tables yet (has \`pmon server\` run against it?)`);
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
    throw new UserError(`cannot read the operator secret ${secretFile}: ${(e as NodeJS.ErrnoException).code ?? e} (set server.operator_secret_file)`);
  }
  let reply;
  try {
    reply = await getHosts(config.server.url, secret);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  return reply.hosts;
}

export default defineCommand({
  meta: { name: "status", description: "Every host: state, agent version, last report, CPU, memory, disks, network, top process. Exits 1 when a host is silent or failed." },
  args: {
    ...commonArgs,
    host: { type: "positional", description: "Only these hosts (default: every host)", required: false },
    json: { type: "boolean", description: "Print JSON for scripts" },
    from: { type: "string", description: "Where to read: store (the database), api (the server's GET /v1/hosts) or auto", default: "auto" },
    color: { type: "boolean", description: "Colour the table (default: when stdout is a terminal and NO_COLOR is unset)" },
  },
  async run({ args }) {
    await runWithConfig(args, {}, async ({ config }) => {
      const now = Date.now();
      const source = chooseSource(String(args.from), config.server);
      const silentAfterMs = config.alerts.silent_after_s * 1000;
      const all = source === "store" ? await withStore(config.server, (db) => hostStatuses(db, now, { silentAfterMs })) : await fromApi(config);
      const wanted = args._ as string[];
      const unknown = wanted.filter((h) => !all.some((s) => s.host === h));
      if (unknown.length) throw new UserError(`pmon status: not enrolled: ${unknown.join(", ")}`, 1);
      const hosts = wanted.length ? all.filter((s) => wanted.includes(s.host)) : all;
      const colour = args.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
      process.stdout.write(args.json ? terminalJson({ hosts }) + "\n" : renderStatus(hosts, { colour }));
      return hosts.some(isProblem) ? 1 : 0;
    });
  },
});
