// The few libc calls pmon needs (netlink sockets, fd directories, kept /proc files), bound once through bun:ffi (works in compiled binaries).
import { dlopen, FFIType, read } from "bun:ffi";

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_RCVBUFFORCE = 33;
export const SO_RCVTIMEO = 20;
export const MSG_DONTWAIT = 0x40;

export const O_RDONLY = 0;
export const O_DIRECTORY = 0o200000;
export const O_CLOEXEC = 0o2000000;

export const ESRCH = 3;
export const EINTR = 4;
export const EAGAIN = 11;
export const EPERM = 1;
export const EACCES = 13;
export const ENOENT = 2;
export const EINVAL = 22;
export const ENOBUFS = 105;
export const ENOSYS = 38;
export const EPROTONOSUPPORT = 93;

type Libc = ReturnType<typeof bind>;
let libc: Libc | undefined;

function bind() {
  return dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
    recvmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
    // fd directories (socket owners, net/fd-dir.ts) and the process list
    getdents64: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
    readlinkat: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
    // /proc/PID/stat kept open between scans: see procfs/pid-stat-files.ts
    open: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    openat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    lseek: { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 },
    pread: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i64], returns: FFIType.i64 },
    // the agent's restart with its JIT options: see util/exec-self.ts
    setenv: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    execv: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  }).symbols;
}

/** libc, loaded on first use so that importing this module never fails on systems without glibc. */
export function getLibc(): Libc {
  libc ??= bind();
  return libc;
}

/** errno of the last failed call; read right after the call, before anything else can touch it. */
export function errno(): number {
  const p = getLibc().__errno_location();
  return p ? read.i32(p, 0) : 0;
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  9: "EBADF",
  11: "EAGAIN",
  13: "EACCES",
  20: "ENOTDIR",
  22: "EINVAL",
  24: "EMFILE",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
};

/** The symbolic name of an errno pmon meets ("ENOENT"), or undefined for the others. */
export function errnoName(e: number): string | undefined {
  return ERRNO_NAMES[e];
}

/** A failed libc call, with the errno kept so callers can degrade on EPERM / EPROTONOSUPPORT. */
export class SyscallError extends Error {
  override name = "SyscallError";
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call} failed: ${errnoName(errno) ?? "errno"} (${errno})`);
  }
}
