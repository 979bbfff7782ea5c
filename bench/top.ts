// Benchmark of `pmon top --at` (src/store/history.ts) on a large MariaDB history.
//
// Generates HOSTS hosts x DAYS days of samples at INTERVAL_S seconds, with PROCS kept processes per
// sample and one rest row per sample, into daily partitions as retention.ts keeps them. PROCS
// defaults to 3: what the default thresholds keep on a database host (the MySQL instances over
// 5 GiB, a backup over 10 MiB/s). With the agent's top-N (agent.top_n = 10 per resource) a busy host
// keeps ~10-20: BENCH_PROCS=15 (130 M rows for 30 days: hours on 2 cores). Rows are made inside
// MariaDB (INSERT ... SELECT over the SEQUENCE engine's seq_X_to_Y tables): no JS row building.
// Then it times topAt for one host and for the whole fleet at random moments and prints the medians.
//
//   bun run bench/top.ts                      # 100 hosts x 30 days x 3 procs (26 M process rows)
//   BENCH_DAYS=3 BENCH_PROCS=15 bun run bench/top.ts
//   BENCH_MYSQL_URL=mysql://... bun run bench/top.ts   # an existing, EMPTY database instead of a temp MariaDB
import { openDb, sqlTime, type Db } from "../src/store/db.ts";
import { topAt, topRange } from "../src/store/history.ts";
import { migrate } from "../src/store/migrate.ts";
import { md5Hex } from "../src/store/reports.ts";
import { hostStatuses } from "../src/store/status.ts";
import { testMariaDB } from "../test/helpers/mariadb.ts";

const HOSTS = Number(process.env.BENCH_HOSTS ?? 100);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const PROCS = Number(process.env.BENCH_PROCS ?? 3);
const INTERVAL_S = Number(process.env.BENCH_INTERVAL_S ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const DAY_S = 86_400;
const TO_DAYS_EPOCH = 719_528; // MySQL TO_DAYS('1970-01-01')
const GENERATED = ["tb_monitor_host_info", "tb_monitor_process_io_info", "tb_monitor_process_rest_info"];

const log = (msg: string) => process.stderr.write(`[bench top] ${msg}\n`);
const hostName = (i: number) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const out = await fn();
  return [performance.now() - t0, out];
}

/** One partition per generated day (and the days ahead), like retention.ts keeps them. */
export async function partitionByDay(db: Db, firstDayS: number, days: number): Promise<void> {
  const defs: string[] = [];
  for (let d = 0; d <= days + 1; d++) {
    const startS = firstDayS + d * DAY_S;
    const name = `p${new Date(startS * 1000).toISOString().slice(0, 10).replace(/-/g, "")}`;
    defs.push(`PARTITION ${name} VALUES LESS THAN (${Math.floor(startS / DAY_S) + TO_DAYS_EPOCH + 1})`);
  }
  for (const t of GENERATED) await db.exec(`ALTER TABLE ${t} REORGANIZE PARTITION pmax INTO (${defs.join(", ")}, PARTITION pmax VALUES LESS THAN MAXVALUE)`);
}

export async function generate(db: Db, startS: number): Promise<void> {
  const perDay = Math.floor(DAY_S / INTERVAL_S);
  const hosts = Array.from({ length: HOSTS }, (_, i) => hostName(i));
  await db.exec(
    `INSERT INTO tb_monitor_host_config (rshost, istate, agent_version, created_at, updated_at) VALUES ${hosts.map(() => "(?, 2, '0.1.0', ?, ?)").join(",")}`,
    hosts.flatMap((h) => [h, sqlTime(startS * 1000), sqlTime(startS * 1000)]),
  );
  // 64 distinct command lines in the dictionary; process k of a host uses command k % 64
  const cmds = Array.from({ length: 64 }, (_, k) => [md5Hex(`/usr/sbin/mysqld --port=${3306 + k}`), `/usr/sbin/mysqld --port=${3306 + k}`, k % 4 === 0 ? "java" : "mysqld"]);
  await db.exec(`INSERT INTO tb_monitor_process_info (md5_str, remarks, comm, a_time) VALUES ${cmds.map(() => "(?, ?, ?, ?)").join(",")}`, cmds.flatMap((c) => [...c, sqlTime(startS * 1000)]));
  // host names and the dictionary as small tables to join against
  await db.exec("CREATE TABLE bench_hosts (n int PRIMARY KEY, rshost varchar(255) CHARACTER SET ascii)");
  await db.exec(`INSERT INTO bench_hosts VALUES ${hosts.map(() => "(?, ?)").join(",")}`, hosts.flatMap((h, i) => [i + 1, h]));

  const hostJson = {
    cpu: `CONCAT('{"total":32,"load":', ROUND(1 + ((h.n * 7 + t.seq) % 50) / 10, 2), ',"id":', (h.n * 13 + t.seq) % 90, ',"wa":1}')`,
    mem: `'{"total":251.4,"used":180.2,"free":71.2}'`,
    io: `'{"Total":{"read":10240,"write":20480},"Actual":{"read":9000,"write":18000}}'`,
    net: `'{"speed":10000,"send":2048,"receive":4096,"Total":6144}'`,
  };
  // One INSERT ... SELECT per table per day, each its own transaction (one huge transaction makes
  // InnoDB's undo log the bottleneck).
  const samples = `seq_0_to_${perDay - 1}`;
  const procs = `seq_0_to_${Math.max(PROCS, 1) - 1}`;
  for (let d = 0; d < DAYS; d++) {
    const time = `FROM_UNIXTIME(${startS + d * DAY_S} + t.seq * ${INTERVAL_S})`;
    const [ms] = await timed(async () => {
      await db.exec(
        `INSERT INTO tb_monitor_host_info (rshost, cpu_info, mem_info, io_info, net, a_time)
         SELECT h.rshost, ${hostJson.cpu}, ${hostJson.mem}, ${hostJson.io}, ${hostJson.net}, ${time} FROM bench_hosts h, ${samples} t`,
      );
      await db.exec(
        `INSERT INTO tb_monitor_process_rest_info (rshost, count, cpu, rss_bytes, io_r, io_w, net_in, net_out, a_time)
         SELECT h.rshost, 300, 40 + (t.seq % 20), 8589934592, 100, 200, 10, 20, ${time} FROM bench_hosts h, ${samples} t`,
      );
      if (PROCS > 0) {
        await db.exec(
          `INSERT INTO tb_monitor_process_io_info (rshost, pid, start_time, ppid, user, instance, cpu, rss_bytes, io_r, io_w, net_in, net_out, threads, a_time, md5)
           SELECT h.rshost, 1000 + p.seq, ${startS * 1000}, 1, 'mysql', CAST(3306 + p.seq AS CHAR),
                  (h.n * 31 + p.seq * 17 + t.seq) % 400, (p.seq + 1) * 536870912, (p.seq * 97 + t.seq) % 20480, (p.seq * 53 + t.seq) % 20480,
                  (p.seq * 11 + t.seq) % 10240, (p.seq * 7 + t.seq) % 10240, 40, ${time}, UNHEX(MD5(CONCAT('/usr/sbin/mysqld --port=', 3306 + p.seq % 64)))
             FROM bench_hosts h, ${samples} t, ${procs} p`,
        );
      }
    });
    log(`day ${d + 1}/${DAYS} generated in ${(ms / 1000).toFixed(1)} s`);
  }
  await db.exec("DROP TABLE bench_hosts");
}

async function main(): Promise<void> {
  const own = process.env.BENCH_MYSQL_URL === undefined;
  const url = process.env.BENCH_MYSQL_URL ?? (await testMariaDB("pmon_bench_top")).url;
  const db = openDb(url);
  // the temporary MariaDB starts with a 256 MB buffer pool; the generated history needs more
  if (own) await db.exec("SET GLOBAL innodb_buffer_pool_size = 2147483648");
  await migrate(db);
  const perDay = Math.floor(DAY_S / INTERVAL_S);
  const nowS = Math.floor(Date.now() / 1000);
  const startS = Math.floor(nowS / DAY_S) * DAY_S - DAYS * DAY_S;
  log(`generating ${HOSTS} hosts x ${DAYS} days at ${INTERVAL_S} s, ${PROCS} processes per sample`);
  await partitionByDay(db, startS, DAYS);
  const [genMs] = await timed(() => generate(db, startS));
  for (const t of GENERATED) await db.exec(`ANALYZE TABLE ${t}`);

  const counts: Record<string, number> = {};
  for (const t of GENERATED) counts[t] = Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`))[0]!.n);
  const size = await db.query<{ t: string; mb: number }>(
    `SELECT TABLE_NAME AS t, ROUND((DATA_LENGTH + INDEX_LENGTH) / 1048576) AS mb FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${GENERATED.map(() => "?").join(",")})`,
    GENERATED,
  );

  // random moments inside the generated history (not aligned to samples)
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const moment = () => (startS + 600 + Math.floor(rand() * (DAYS * DAY_S - 1200))) * 1000 + 17_000;
  const one: number[] = [];
  const fleet: number[] = [];
  const range: number[] = [];
  const status: number[] = [];
  let fleetRows = 0;
  for (let i = 0; i < RUNS; i++) {
    const host = hostName(Math.floor(rand() * HOSTS));
    const [a, r1] = await timed(() => topAt(db, { by: "cpu", limit: 10, host, at: moment() }));
    if (r1.rows.length === 0) throw new Error(`no rows for ${host}: the generated data is not where the bench looks`);
    one.push(a);
    const [b, r2] = await timed(() => topAt(db, { by: "cpu", limit: 10, at: moment() }));
    fleetRows = r2.hosts;
    fleet.push(b);
    const to = moment();
    const [c] = await timed(() => topRange(db, { by: "cpu", limit: 10, host, from: to - 3_600_000, to }));
    range.push(c);
    const [d] = await timed(() => hostStatuses(db, Date.now()));
    status.push(d);
  }
  await db.close();

  const out = [
    `pmon top benchmark (MariaDB, ${HOSTS} hosts x ${DAYS} days at ${INTERVAL_S} s = ${HOSTS * DAYS * perDay} host samples, ${PROCS} kept processes per sample)`,
    `  generated in ${(genMs / 1000).toFixed(0)} s: ${Object.entries(counts).map(([t, n]) => `${t} ${n} rows`).join(", ")}`,
    `  on disk (data + indexes): ${size.map((s) => `${s.t} ${s.mb} MB`).join(", ")}`,
    `  top --at, one host:      median ${median(one).toFixed(1)} ms over ${RUNS} runs (target < 200 ms)`,
    `  top --at, whole fleet:   median ${median(fleet).toFixed(1)} ms over ${RUNS} runs, ${fleetRows} hosts answered (target < 1000 ms)`,
    `  top --from/--to 1 h, one host: median ${median(range).toFixed(1)} ms`,
    `  status (hostStatuses, whole fleet): median ${median(status).toFixed(1)} ms`,
  ];
  process.stdout.write(out.join("\n") + "\n");
  process.exit(0); // the temp MariaDB is killed on exit
}

if (import.meta.main) {
  // run the exit handlers (they stop the temporary MariaDB) on Ctrl-C too
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));
  await main();
}
