// FdDirReader on the live /proc: this process's own fds, with a listening socket among them.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FdDirReader } from "../../../src/net/fd-dir.ts";
import { ENOENT } from "../../../src/util/libc.ts";

test("lists the same fds as readdir and finds the inode of a listening socket", async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const r = new FdDirReader();
    expect(r.open(`/proc/${process.pid}/fd`)).toBe(0);
    const expected = readdirSync(`/proc/${process.pid}/fd`).map(Number);
    // the reader's own directory fd shows in its listing, readdir's in readdir's
    expect(r.fds.filter((fd) => expected.includes(fd)).length).toBeGreaterThanOrEqual(expected.length - 1);
    const sockets = new Map<number, number>();
    for (const fd of r.fds) {
      const inode = r.socketInode(fd);
      if (inode > 0) sockets.set(fd, inode);
    }
    r.close();
    const byLink = new Map<number, number>();
    for (const fd of expected) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${process.pid}/fd/${fd}`));
        if (m) byLink.set(fd, Number(m[1]));
      } catch {
        // readdir's own fd, closed by now
      }
    }
    expect(sockets.size).toBeGreaterThan(0);
    expect(sockets).toEqual(byLink);
  } finally {
    server.close();
  }
});

test("fd numbers of any width, links that are not sockets, a missing directory", () => {
  const root = mkdtempSync(join(tmpdir(), "pmon-fd-dir-"));
  try {
    const dir = join(root, "fd");
    mkdirSync(dir);
    symlinkSync("socket:[4294967302]", join(dir, "1023"));
    symlinkSync("socket:[12", join(dir, "7"));
    symlinkSync("/var/log/a-long-path-that-is-longer-than-the-link-buffer-of-sixty-four-bytes.log", join(dir, "0"));
    symlinkSync("anon_inode:[eventfd]", join(dir, "10"));
    expect(statSync(dir).isDirectory()).toBe(true);
    const r = new FdDirReader();
    expect(r.open(dir)).toBe(0);
    expect([...r.fds].sort((a, b) => a - b)).toEqual([0, 7, 10, 1023]);
    expect(r.socketInode(1023)).toBe(4294967302);
    expect(r.socketInode(7)).toBe(0);
    expect(r.socketInode(0)).toBe(0);
    expect(r.socketInode(10)).toBe(0);
    expect(r.socketInode(99)).toBe(-1);
    r.close();
    expect(r.open(join(root, "nope"))).toBe(ENOENT);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
