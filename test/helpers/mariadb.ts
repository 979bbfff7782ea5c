// A real MariaDB for the tests: one server per `bun test` process, started on first use in a temp
// datadir (recipe: shared/notes/feasibility.md §2) and killed when the process exits. Each caller gets
// its own empty database, so test files never see each other's rows.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";

export interface TestMariaDB {
  /** mysql://pmon:pmonpw@127.0.0.1:PORT/DB for a fresh database */
  url: string;
  database: string;
  port: number;
  socket: string;
  dataDir: string;
  /** stops the server (keeps the data) and starts it again; for outage tests */
  stop(): Promise<void>;
  start(): Promise<void>;
}

interface Server {
  dir: string;
  port: number;
  socket: string;
  pid?: number;
}

let server: Promise<Server> | undefined;
let counter = 0;

function which(...names: string[]): string {
  for (const n of names) {
    for (const d of ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"]) {
      if (existsSync(join(d, n))) return join(d, n);
    }
  }
  throw new Error(`none of ${names.join(", ")} is installed; run 'make test-deps'`);
}

async function startServer(s: Server): Promise<void> {
  const mariadbd = which("mariadbd", "mysqld");
  const child = spawn(
    mariadbd,
    [
      "--no-defaults",
      `--datadir=${s.dir}/data`,
      `--socket=${s.socket}`,
      `--port=${s.port}`,
      "--bind-address=127.0.0.1",
      "--user=root",
      `--pid-file=${s.dir}/mysqld.pid`,
      `--log-error=${s.dir}/err.log`,
      "--skip-name-resolve",
      "--innodb-buffer-pool-size=256M",
      "--innodb-flush-log-at-trx-commit=2",
      "--max-connections=500",
      `--tmpdir=${s.dir}`, // not the shared /tmp: several test MariaDBs run at once
    ],
    { stdio: "ignore", detached: false },
  );
  s.pid = child.pid;
  child.unref();
  for (let i = 0; i < 400; i++) {
    try {
      const c = await mysql.createConnection({ socketPath: s.socket, user: "root" });
      await c.end();
      return;
    } catch {
      if (child.exitCode !== null) break;
      await Bun.sleep(50);
    }
  }
  const log = existsSync(`${s.dir}/err.log`) ? readFileSync(`${s.dir}/err.log`, "utf8").slice(-2000) : "";
  throw new Error(`MariaDB did not start:\n${log}`);
}

function freePortBelowEphemeral(): number {
  const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  const top = Math.max(low, 12000) - 1;
  for (let i = 0; i < 100; i++) {
    const port = 10000 + Math.floor(Math.random() * (top - 10000));
    try {
      Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
      return port;
    } catch {}
  }
  throw new Error("no free port below the ephemeral range for the test MariaDB");
}

async function boot(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "pmon-mariadb-"));
  const install = spawnSync(
    which("mariadb-install-db", "mysql_install_db"),
    ["--no-defaults", `--datadir=${dir}/data`, "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db", `--tmpdir=${dir}`],
    { encoding: "utf8" },
  );
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
  const s: Server = { dir, port: 0, socket: join(dir, "mysqld.sock") };
  // A port below the kernel's ephemeral range, so clients elsewhere on the machine (a test flooding the
  // server with 200,000 connections) cannot take it; tried again with another if something holds it anyway.
  for (let attempt = 1; ; attempt++) {
    s.port = freePortBelowEphemeral();
    try {
      await startServer(s);
      break;
    } catch (e) {
      if (attempt >= 5 || !/Address already in use/.test(String(e))) throw e;
    }
  }
  const root = await mysql.createConnection({ socketPath: s.socket, user: "root" });
  await root.query("CREATE USER 'pmon'@'127.0.0.1' IDENTIFIED BY 'pmonpw'");
  await root.query("CREATE USER 'pmon'@'localhost' IDENTIFIED BY 'pmonpw'");
  await root.query("GRANT ALL ON *.* TO 'pmon'@'127.0.0.1' WITH GRANT OPTION");
  await root.query("GRANT ALL ON *.* TO 'pmon'@'localhost' WITH GRANT OPTION");
  await root.end();
  cleanup = () => {
    if (s.pid) {
      try {
        process.kill(s.pid, "SIGKILL");
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", cleanup);
  return s;
}

let cleanup: (() => void) | undefined;

/** Kills the shared server and deletes its datadir. `bun test` runs no "exit" handlers, so test/setup.ts calls this after the last file. */
export function cleanupTestMariaDB(): void {
  cleanup?.();
  cleanup = undefined;
}

async function stopServer(s: Server): Promise<void> {
  if (!s.pid) return;
  const pid = s.pid;
  s.pid = undefined;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 600; i++) {
    try {
      process.kill(pid, 0);
      await Bun.sleep(50);
    } catch {
      return;
    }
  }
  process.kill(pid, "SIGKILL");
}

/** A fresh, empty database on the shared test MariaDB. */
export async function testMariaDB(name = "pmon_test"): Promise<TestMariaDB> {
  server ??= boot();
  const s = await server;
  const database = `${name}_${process.pid}_${++counter}`;
  const root = await mysql.createConnection({ socketPath: s.socket, user: "root" });
  await root.query(`CREATE DATABASE \`${database}\``);
  await root.end();
  return {
    url: `mysql://pmon:pmonpw@127.0.0.1:${s.port}/${database}`,
    database,
    port: s.port,
    socket: s.socket,
    dataDir: s.dir,
    stop: () => stopServer(s),
    start: () => startServer(s),
  };
}
