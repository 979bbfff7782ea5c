// The web UI's chart drawing in a real browser (Debian's chromium, headless, software rendering):
// a host's 24 h at 30 s (2,880 samples) as the stacked CPU chart (9 processes + rest = 10 series),
// and as the whole host page (every chart of it). Drawn with the UI's own chart code (src/ui/web/).
// Target: the 10-series chart in < 500 ms. Then the query behind the host page (hostSeries) over
// 24 h and 7 d of one host at 30 s with 12 kept processes per sample, on SQLite and MariaDB.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import page from "./ui-page/index.html";
import { openDb, type Db } from "../src/store/db.ts";
import { writeReports } from "../src/store/reports.ts";
import { migrate } from "../src/store/schema.ts";
import { hostSeries } from "../src/store/series.ts";
import { launchChromium } from "../test/helpers/ui/browser.ts";
import { testMariaDB } from "../test/helpers/mariadb.ts";
import { defaultProcesses, makeProcess, makeReport } from "../test/helpers/reports.ts";

const POINTS = 2880;
const RUNS = 7;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const server = Bun.serve({ hostname: "127.0.0.1", port: 0, development: false, routes: { "/": page } });
const browser = await launchChromium();
try {
  const tab = await browser.browser.newPage();
  const errors: string[] = [];
  tab.on("pageerror", (e) => errors.push(String(e)));
  tab.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await tab.setViewport({ width: 1200, height: 900 });
  await tab.goto(`http://127.0.0.1:${server.port}/`);
  await tab.waitForFunction(() => "bench" in globalThis);
  const r = (await tab.evaluate((points: number, runs: number) => (globalThis as unknown as { bench(p: number, r: number): Promise<unknown> }).bench(points, runs), POINTS, RUNS)) as {
    series: number;
    charts: number;
    one: number[];
    page: number[];
  };
  if (errors.length) throw new Error(`browser errors: ${errors.join("; ")}`);
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (${xs.map((x) => x.toFixed(0)).join(", ")})`;
  console.log(`stacked CPU chart, ${POINTS} samples x ${r.series} series: ${fmt(r.one)}  (target < 500 ms)`);
  console.log(`whole host page, ${r.charts} charts of ${POINTS} samples: ${fmt(r.page)}`);
  console.log(median(r.one) < 500 ? "OK: under 500 ms" : "OVER the 500 ms target");
} finally {
  await browser.close();
  server.stop(true);
}

/** 7 days of one host at 30 s, 12 kept processes per sample (CPU wandering so the top 8 change). */
async function fill(db: Db, endMs: number): Promise<number> {
  const n = 7 * POINTS;
  let batch: Parameters<typeof writeReports>[1][number][] = [];
  for (let i = 0; i < n; i++) {
    const time = endMs - (n - 1 - i) * 30_000;
    const extra = Array.from({ length: 8 }, (_, k) => makeProcess({ pid: 5000 + k, start_time: 1_760_000_000_000 + k, comm: `worker${k}`, cmdline: `worker ${k}`, cpu_pct: ((i + k * 97) % 400) / 4 }));
    const report = makeReport({ host: "bench-1", time, processes: [...defaultProcesses(), ...extra] });
    batch.push({ report, receivedAt: time });
    if (batch.length === 500) {
      await writeReports(db, batch);
      batch = [];
    }
  }
  if (batch.length) await writeReports(db, batch);
  return n;
}

async function queryTimes(name: string, db: Db): Promise<void> {
  await migrate(db);
  const end = Date.now() - 60_000;
  const t0 = performance.now();
  const n = await fill(db, end);
  console.log(`${name}: stored ${n} reports in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const [label, spanMs] of [["24 h", 86_400_000], ["7 d", 7 * 86_400_000]] as const) {
    const times: number[] = [];
    let points = 0;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const s = await hostSeries(db, { host: "bench-1", from: end - spanMs, to: end });
      times.push(performance.now() - t);
      points = s.times.length;
    }
    console.log(`${name}: hostSeries ${label} (${points} points): median ${median(times).toFixed(0)} ms (${times.map((x) => x.toFixed(0)).join(", ")})`);
  }
}

const tmp = mkdtempSync(join(tmpdir(), "pmon-bench-ui-"));
try {
  const sqlite = openDb(`sqlite:${join(tmp, "pmon.db")}`);
  await queryTimes("SQLite", sqlite);
  await sqlite.close();
  const maria = openDb((await testMariaDB("pmon_bench_ui")).url);
  await queryTimes("MariaDB", maria);
  await maria.close();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0); // the temporary MariaDB is stopped on exit
