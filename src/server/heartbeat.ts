// The server's heartbeat in tb_monitor_server_info: every heartbeat_s this server upserts its row, so
// `pmon status` can tell "the server is down" from "every host went silent".
import { hostname } from "node:os";
import type { Db } from "../store/db.ts";
import { heartbeat } from "../store/servers.ts";
import type { Logger } from "../log.ts";

export interface HeartbeatIdentity {
  serverId: string;
  address: string;
  version: string;
  startedAt: number;
}

/** hostname/address: unique per server process sharing one database, stable across its restarts. */
export function serverId(address: string): string {
  return `${hostname()}/${address}`;
}

/** Writes a heartbeat now and every `everyMs`; the returned function stops it after the last write. */
export function startHeartbeat(db: Db, who: HeartbeatIdentity, everyMs: number, log: Logger): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  let failing = false;
  const beat = () => {
    running = heartbeat(db, who)
      .then(() => {
        if (failing) log.info("heartbeat written again");
        failing = false;
      })
      .catch((e) => {
        // once per outage, not once per beat
        if (!failing) log.warn(`cannot write the server heartbeat: ${(e as Error).message}`);
        failing = true;
      });
  };
  beat();
  const timer = setInterval(beat, everyMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
