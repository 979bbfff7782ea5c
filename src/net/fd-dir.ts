// One process's fd directory (/proc/PID/fd) read through libc: getdents64 into one reused buffer and
// readlinkat of each fd into another. readdirSync and readlinkSync allocate an array, a path and a string
// per call; a search of every process (thousands of directories, several links each) spent more time in
// those allocations than in the kernel.
import { readNumericEntries, writeDecimal } from "../util/dirents.ts";
import { EACCES, EPERM, errno, getLibc, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from "../util/libc.ts";

/** socketInode(): the process's fd links may not be read */
export const DENIED = -2;

const DENTS_BYTES = 32 * 1024;
// "socket:[" + up to 20 digits + "]"; longer targets (paths) are not sockets and are cut, which is fine
const LINK_BYTES = 64;
const SOCKET_PREFIX = [0x73, 0x6f, 0x63, 0x6b, 0x65, 0x74, 0x3a, 0x5b]; // "socket:["

export class FdDirReader {
  private readonly dents = new Uint8Array(DENTS_BYTES);
  private readonly link = new Uint8Array(LINK_BYTES);
  private readonly name = new Uint8Array(16);
  private readonly path = new Uint8Array(4096);
  private readonly encoder = new TextEncoder();
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
    // open, not opendir: glibc's opendir adds an fstat and a 32 KiB buffer per directory, thousands per walk
    const fd = libc.open(this.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno();
    this.fd = fd;
    this.fds.length = 0;
    const e = readNumericEntries(fd, this.dents, this.fds);
    if (e !== 0) this.close();
    return e;
  }

  /**
   * The socket inode fd `fd` of the open directory holds: > 0 a socket, 0 something else, -1 closed
   * meanwhile, DENIED when the process's links may not be read (its fd directory may still be listed).
   */
  socketInode(fd: number): number {
    const name = this.name;
    name[writeDecimal(name, 0, fd)] = 0; // the fd number as a NUL-terminated name, without a string
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
    if (this.fd >= 0) getLibc().close(this.fd);
    this.fd = -1;
  }
}
