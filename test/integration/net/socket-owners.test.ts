// The inode → pid map on a fake /proc tree: fd links are plain symlinks to "socket:[N]".
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SocketOwners } from "../../../src/net/socket-owners.ts";

let root: string;
const fd = (pid: number, n: number, target: string) => {
  mkdirSync(join(root, String(pid), "fd"), { recursive: true });
  symlinkSync(target, join(root, String(pid), "fd", String(n)));
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "pmon-net-owners-"));
  fd(100, 3, "socket:[5001]");
  fd(100, 4, "/dev/null");
  fd(200, 0, "socket:[5002]");
  fd(300, 0, "pipe:[77]");
  mkdirSync(join(root, "self"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("socket owners", () => {
  test("maps inodes to pids and reads no fd directory again while nothing is new", () => {
    const owners = new SocketOwners(root);
    const map = owners.resolve([5001, 5002, 0]);
    expect([...map.entries()].sort()).toEqual([
      [5001, 100],
      [5002, 200],
    ]);
    expect(owners.stats.fdDirsRead).toBeGreaterThanOrEqual(2);
    owners.resolve([5001, 5002]);
    expect(owners.stats.fdDirsRead).toBe(0);
    expect(owners.stats.linksRead).toBe(0);
  });

  test("a new socket of a process that already owns sockets is found by reading that process first", () => {
    const owners = new SocketOwners(root);
    owners.resolve([5001, 5002]);
    fd(100, 5, "socket:[5003]");
    expect(owners.resolve([5001, 5002, 5003]).get(5003)).toBe(100);
    expect(owners.stats.fdDirsRead).toBe(1);
    // fd 3 still holds live socket 5001: only fd 4 (not a socket, may have been reused) and the new fd 5 are read
    expect(owners.stats.linksRead).toBe(2);
  });

  test("an fd whose socket closed is read again (its number may hold a new socket)", () => {
    const owners = new SocketOwners(root);
    owners.resolve([5001]);
    rmSync(join(root, "100", "fd", "3"));
    fd(100, 3, "socket:[5009]"); // 5001 closed, fd 3 reused
    expect(owners.resolve([5009]).get(5009)).toBe(100);
  });

  test("an inode nobody owns is searched once, then again only after some samples", () => {
    const owners = new SocketOwners(root);
    owners.resolve([5001, 9999]);
    expect(owners.stats.fdDirsRead).toBe(3);
    let rescans = 0;
    for (let i = 0; i < 10; i++) {
      owners.resolve([5001, 9999]);
      if (owners.stats.fdDirsRead > 0) rescans++;
    }
    expect(rescans).toBe(1);
  });

  test("a socket whose owner exited is looked up again (a forked child may hold it)", () => {
    const owners = new SocketOwners(root);
    expect(owners.resolve([5002]).get(5002)).toBe(200);
    rmSync(join(root, "200"), { recursive: true });
    fd(300, 1, "socket:[5002]");
    expect(owners.resolve([5002]).get(5002)).toBe(300);
    expect(owners.stats.fdDirsRead).toBeGreaterThan(0);
  });

  test("only the sockets whose owner is needed are searched for; the others wait without a scan", () => {
    const owners = new SocketOwners(root);
    expect(owners.resolve([5001, 5002], new Set([5001])).has(5002)).toBe(false);
    fd(400, 0, "socket:[5004]");
    owners.resolve([5001, 5002, 5004], new Set());
    expect(owners.stats.fdDirsRead).toBe(0);
    expect(owners.resolve([5001, 5002, 5004], new Set([5004])).get(5004)).toBe(400);
  });

  test("processes started since the last scan are read before the others", () => {
    const owners = new SocketOwners(root);
    owners.resolve([5001, 5002]);
    fd(500, 0, "socket:[5005]");
    expect(owners.resolve([5001, 5002, 5005]).get(5005)).toBe(500);
    expect(owners.stats.fdDirsRead).toBe(1); // pid 500 only, not the known owners 100 and 200 first
  });

  test("closed sockets are forgotten", () => {
    const owners = new SocketOwners(root);
    owners.resolve([5001, 5002]);
    expect([...owners.resolve([5001]).keys()]).toEqual([5001]);
  });
});
