// One process's fd directory (/proc/PID/fd) read through libc: getdents64 into one reused buffer and
// readlinkat of each fd into another. readdirSync and readlinkSync allocate an array, a path and a string
// per call; a search of every process (thousands of directories, several links each) spent more time in
// those allocations than in the kernel.
import { EACCES, EPERM, errno, getLibc } from "../util/libc.ts";

/** socketInode(): the process's fd links may not be read */
export const DENIED = -2;

const DENTS_BYTES = 32 * 1024;
// "socket:[" + up to 20 digits + "]"; longer targets (paths) are not sockets and are cut, which is fine
const LINK_BYTES = 64;
const SOCKET_PREFIX = [0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x3a, 0x5b]; // "socket:["
// struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16 at 16, d_type u8 at 18, d_name at 19
const RECLEN_AT = 16;
const NAME_AT = 19;

export class FdDirReader {
  private readonly dents = new Uint8Array(DENTS_BYTES);
  private readonly dentsView = new DataView(this.dents.buffer);
  private readonly link = new Uint8Array(LINK_BYTES);
  private readonly name = new Uint8Array(16);
  private readonly path = new Uint8Array(4096);
  private readonly encoder = new TextEncoder();
  private dir: number | bigint | null = null;
  private fd = -1;
  /** the fd numbers of the open directory (reused between directories) */
  readonly fds: number[] = [];

  /**
   * Opens `dir` and lists its fd numbers into `fds`. Returns 0, or the errno that kept it from being read
   * (ENOENT: the process exited; EACCES/EPERM: not ours to read).
   */
  open(dir: string): number {
    this.close();
    const libc = getLibc();
    const n = this.encoder.encodeInto(dir, this.path).written;
    if (n >= this.path.length) return 36; // ENAMETOOLONG
    this.path[n] = 0;
    const d = libc.opendir(this.path);
    if (!d) return errno();
    this.dir = d;
    this.fd = libc.dirfd(d);
    this.fds.length = 0;
    for (;;) {
      const got = Number(libc.getdents64(this.fd, this.dents, DENTS_BYTES));
      if (got < 0) {
        const e = errno();
        this.close();
        return e;
      }
      if (got === 0) return 0;
      for (let off = 0; off < got; ) {
        const reclen = this.dentsView.getUint16(off + RECLEN_AT, true);
        const fd = decimalAt(this.dents, off + NAME_AT);
        if (fd >= 0) this.fds.push(fd);
        off += reclen;
      }
    }
  }

  /**
   * The socket inode fd `fd` of the open directory holds: > 0 a socket, 0 something else, -1 closed
   * meanwhile, DENIED when the process's links may not be read (its fd directory may still be listed).
   */
  socketInode(fd: number): number {
    const name = this.name;
    let len = 0;
    // the fd number as a NUL-terminated decimal name, without a string
    let v = fd;
    do {
      name[len++] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
    name.subarray(0, len).reverse();
    name[len] = 0;
    const n = Number(getLibc().readlinkat(this.fd, name, this.link, LINK_BYTES));
    if (n < 0) {
      const e = errno();
      return e === EACCES || e === EPERM ? DENIED : -1;
    }
    const link = this.link;
    if (n < SOCKET_PREFIX.length + 2 || link[n - 1] !== 0x5d) return 0; // "]"
    for (let i = 0; i < SOCKET_PREFIX.length; i++) if (link[i] !== SOCKET_PREFIX[i]) return 0;
    let inode = 0;
    for (let i = SOCKET_PREFIX.length; i < n - 1; i++) {
      const c = link[i]! - 0x30;
      if (c < 0 || c > 9) return 0;
      inode = inode * 10 + c;
    }
    return inode;
  }

  close(): void {
    if (this.dir !== null) getLibc().closedir(this.dir as never);
    this.dir = null;
    this.fd = -1;
  }
}

/** The non-negative decimal number NUL-terminated at `at`, or -1 for any other name ("." and ".."). */
function decimalAt(buf: Uint8Array, at: number): number {
  let v = 0;
  let i = at;
  for (; buf[i] !== 0; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return i === at ? -1 : v;
}
