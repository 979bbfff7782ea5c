// Missing kernel features and privileges: reported in capabilities and one log line; nothing crashes.
import { describe, expect, test } from "bun:test";
import { createConsola } from "consola";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetworkCollector } from "../../../src/collect/network.ts";
import type { DestroyListener } from "../../../src/net/destroy-listener.ts";
import type { KernelOpeners } from "../../../src/net/kernel-probe.ts";
import { EPERM, EPROTONOSUPPORT, SyscallError } from "../../../src/util/libc.ts";
import { CHILDREN, LIVE_TIMEOUT_MS } from "../../helpers/net/helpers.ts";

// Each degraded case is the same collector on the live /proc with one kernel socket replaced;
// `lines` records what it logged.
function collectorWithKernel(kernel: KernelOpeners) {
  const lines: string[] = [];
  const log = createConsola({ level: 5, reporters: [{ log: (o) => lines.push(`${o.type}: ${o.args.join(" ")}`) }] });
  const net = createNetworkCollector({ procRoot: "/proc", log, netMibS: 10, topN: 10, kernel });
  return { net, lines };
}

const lo = [{ name: "lo", rx_bytes_per_s: 500, tx_bytes_per_s: 700, speed_mbps: null }];

describe("degraded kernels and privileges", () => {
  test("no NETLINK_SOCK_DIAG: one clear line, capabilities say so, interface traffic all unattributed", () => {
    const { net, lines } = collectorWithKernel({
      openDiag: () => {
        throw new SyscallError("socket(AF_NETLINK, 4)", EPROTONOSUPPORT);
      },
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("NETLINK_SOCK_DIAG unavailable (socket(AF_NETLINK, 4) failed: EPROTONOSUPPORT (93))");
    expect(net.capabilities).toMatchObject({ sock_diag: false, tcp_bytes: false, tcp_destroy_events: false });
    const s = net.sample(lo);
    expect(s.byPid.size).toBe(0);
    expect(s.unattributed).toEqual([{ interface: "lo", rx_bytes_per_s: 500, tx_bytes_per_s: 700 }]);
    net.close();
  });

  test("destroy notifications refused (EPERM, kernels that want CAP_NET_ADMIN): off, said once, sampling works", () => {
    const { net, lines } = collectorWithKernel({
      openDestroy: () => {
        throw new SyscallError("bind(netlink)", EPERM);
      },
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("destroy notifications off");
    expect(lines[0]).toContain("need CAP_NET_ADMIN");
    expect(net.capabilities).toMatchObject({ sock_diag: true, tcp_destroy_events: false, tcp_bytes: true });
    const s = net.sample(lo);
    // (sockets of processes outside this pid namespace, or of one whose fd links are refused even to root,
    // as a sandbox's init can be, may exist: net_owner_unknown and net_fd_denied are not failures)
    expect(Object.keys(s.errors).filter((k) => k !== "net_owner_unknown" && k !== "net_fd_denied")).toEqual([]);
    net.close();
  });

  test("a kernel that accepts the subscription but sends nothing (before 4.9): destroy notifications off, said once", () => {
    let closed = false;
    const silent = { drain: () => ({ sockets: [], overflowed: false, malformed: 0 }), close: () => (closed = true) };
    const { net, lines } = collectorWithKernel({ openDestroy: () => silent as unknown as DestroyListener });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("no socket-destroy notification arrived for a probe socket");
    expect(net.capabilities.tcp_destroy_events).toBe(false);
    expect(closed).toBe(true);
    net.close();
  }, LIVE_TIMEOUT_MS);

  test("as an unprivileged user: sock_diag works; root's sockets have no known owner and that is counted", async () => {
    // a socket whose owner (this root test process) the unprivileged child cannot look up
    const rootListener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    // The clone (and the bun binary in it) may sit under a 0700 home: uid 65534 gets its own compiled copy
    // of the child in a world-readable directory, and "/" as its working directory.
    const dir = mkdtempSync(join(tmpdir(), "pmon-unpriv-"));
    chmodSync(dir, 0o755);
    try {
      const exe = join(dir, "unprivileged");
      const built = Bun.spawnSync([process.execPath, "build", "--compile", "--outfile", exe, join(CHILDREN, "unprivileged.ts")], { stderr: "pipe" });
      if (built.exitCode !== 0) throw new Error(`bun build of the unprivileged child failed: ${built.stderr.toString()}`);
      const p = Bun.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe, String(rootListener.port)], {
        cwd: "/",
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect(err).toBe("");
      expect(code).toBe(0);
      const r = JSON.parse(out.split("RESULT ")[1]!) as {
        capabilities: Record<string, unknown>;
        errors: Record<string, number>;
        rootListener?: { pid: number | null };
      };
      expect(r.capabilities.sock_diag).toBe(true);
      expect(r.rootListener).toBeDefined();
      expect(r.rootListener?.pid).toBeNull();
      expect(r.errors.net_fd_denied ?? 0).toBeGreaterThan(0);
      expect(r.errors.net_owner_unknown ?? 0).toBeGreaterThan(0);
    } finally {
      rootListener.stop(true);
      rmSync(dir, { recursive: true, force: true });
    }
  }, LIVE_TIMEOUT_MS);
});
