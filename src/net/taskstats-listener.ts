// Exit records of every task on the host: a generic netlink socket registered with the TASKSTATS family for
// all possible CPUs. The kernel then sends one message per exiting task to this socket. Registering needs
// CAP_NET_ADMIN, the initial network namespace (the family is not namespaced) and the initial PID and user
// namespaces; open() throws SyscallError otherwise, and the caller falls back to /proc.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { GENL_ID_CTRL, NETLINK_GENERIC, TASKSTATS_GENL_NAME, buildGetFamilyBody, buildRegisterBody, parseFamilyId, parseTaskExit, type TaskExit } from "./taskstats.ts";
import { NetlinkParseError, type NetlinkMessage } from "./netlink-message.ts";
import { NetlinkSocket } from "./netlink-socket.ts";

// A burst of exits between two drains must fit; root may go past rmem_max. Each record takes ~1 KiB of it.
const RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024;

export interface TaskExitDrain {
  exits: TaskExit[];
  /** the kernel dropped records (receive buffer full): some exits are missing */
  overflowed: boolean;
  /** records that did not parse */
  malformed: number;
}

export class TaskstatsListener {
  private pending: NetlinkMessage[] = [];

  private constructor(
    private readonly sock: NetlinkSocket,
    readonly familyId: number,
    private readonly cpuList: string,
  ) {}

  /** Resolves the family and registers for exits; throws SyscallError (ENOENT: no family here; EPERM; EINVAL: not the initial namespaces). */
  static open(cpuList = possibleCpus()): TaskstatsListener {
    const sock = NetlinkSocket.open(NETLINK_GENERIC, { receiveBufferBytes: RECEIVE_BUFFER_BYTES });
    try {
      let familyId = 0;
      sock.request(GENL_ID_CTRL, buildGetFamilyBody(TASKSTATS_GENL_NAME), (msg) => {
        if (msg.type === GENL_ID_CTRL) familyId = parseFamilyId(msg.payload);
      });
      if (familyId === 0) throw new NetlinkParseError("no TASKSTATS family id in the controller's reply");
      const listener = new TaskstatsListener(sock, familyId, cpuList);
      // exits that arrive before the acknowledgement are kept for the first drain
      sock.request(familyId, buildRegisterBody(cpuList), () => {}, (msg) => listener.pending.push(copy(msg)));
      return listener;
    } catch (e) {
      sock.close();
      throw e;
    }
  }

  /** Every exit since the last drain; never blocks. */
  drain(): TaskExitDrain {
    const exits: TaskExit[] = [];
    let malformed = 0;
    const take = (msg: NetlinkMessage) => {
      if (msg.type !== this.familyId) return;
      try {
        const e = parseTaskExit(msg.payload);
        if (e) exits.push(e);
      } catch (err) {
        if (!(err instanceof NetlinkParseError)) throw err;
        malformed++;
      }
    };
    for (const msg of this.pending) take(msg);
    this.pending = [];
    const { overflowed } = this.sock.drain(take);
    return { exits, overflowed, malformed };
  }

  close(): void {
    try {
      // closing alone also works (the kernel drops a listener whose socket is gone), but only at its next send
      this.sock.request(this.familyId, buildRegisterBody(this.cpuList, false), () => {});
    } catch {
      // the socket is closed below either way
    }
    this.sock.close();
  }
}

/** The kernel refuses a mask with CPUs that cannot exist, and sends nothing for CPUs left out. */
function possibleCpus(): string {
  try {
    const list = readFileSync("/sys/devices/system/cpu/possible", "latin1").trim();
    if (/^[0-9,-]+$/.test(list)) return list;
  } catch {
    // no /sys: the CPUs this process can see
  }
  const n = availableParallelism();
  return n > 1 ? `0-${n - 1}` : "0";
}

function copy(msg: NetlinkMessage): NetlinkMessage {
  return { ...msg, payload: msg.payload.slice() };
}
