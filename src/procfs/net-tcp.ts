// /proc/net/tcp and tcp6: one socket per line; addresses are hex "IP:PORT", st 0A = LISTEN.
import type { ProcFs } from "./fs.ts";
import { isGone } from "./errors.ts";

export interface ListenSocket {
  port: number;
  inode: number;
}

const TCP_LISTEN = "0A";

/** LISTEN sockets only: that is all the instance detection needs. */
export function parseNetTcpListen(text: string): ListenSocket[] {
  const out: ListenSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const local = f[1]!;
    const port = parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
    const inode = Number(f[9]);
    if (Number.isInteger(port) && Number.isInteger(inode) && inode > 0) out.push({ port, inode });
  }
  return out;
}

/** LISTEN sockets of tcp and tcp6; a missing file (no IPv6) counts as none. */
export function readListenSockets(fs: ProcFs): ListenSocket[] {
  const out: ListenSocket[] = [];
  for (const name of ["net/tcp", "net/tcp6"]) {
    try {
      out.push(...parseNetTcpListen(fs.readText(`${fs.root}/${name}`)));
    } catch (e) {
      if (!isGone(e)) throw e;
    }
  }
  return out;
}
