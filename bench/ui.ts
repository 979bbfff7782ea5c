// The web UI's chart drawing in a real browser (Debian's chromium, headless, software rendering):
// a host's 24 h at 30 s (2,880 samples) as the stacked CPU chart (9 processes + rest = 10 series),
// and as the whole host page (every chart of it). Drawn with the UI's own chart code (src/ui/web/).
// Target: the 10-series chart in < 500 ms.
import page from "./ui-page/index.html";
import { launchChromium } from "../test/integration/ui/browser.ts";

const POINTS = 2880;
const RUNS = 7;

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
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (${xs.map((x) => x.toFixed(0)).join(", ")})`;
  console.log(`stacked CPU chart, ${POINTS} samples x ${r.series} series: ${fmt(r.one)}  (target < 500 ms)`);
  console.log(`whole host page, ${r.charts} charts of ${POINTS} samples: ${fmt(r.page)}`);
  console.log(median(r.one) < 500 ? "OK: under 500 ms" : "OVER the 500 ms target");
} finally {
  await browser.close();
  server.stop(true);
}
