// The web UI in a real browser against the compiled binary: a real `pmon server` on SQLite and a real
// `pmon agent` reporting this machine every second, with a CPU burner whose command line holds a
// <script> tag. Login, fleet, host charts, keyboard moment selection, the permalink, 375 px, logout.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { openDb, sqlTime, type Db } from "../../../src/store/db.ts";
import { until } from "../../helpers/agent/harness.ts";
import { enrollNoDeploy, freePort, startAgent, startServer, waitHttp, type Proc } from "../../helpers/server/procs.ts";
import { launchChromium, type TestBrowser } from "../../helpers/ui/browser.ts";

// page.evaluate callbacks run in the browser; server code (and so this file) is checked without the DOM library
declare const document: any;
declare const window: any;
declare const location: { hash: string };
type HTMLInputElement = { value: string };
type Clickable = { click(): void; focus(): void };

const HOST = "ui-1";
const FAILED = "zz-failed";
const MARKUP = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>";
let dir: string;
let url: string;
let db: Db;
let browser: TestBrowser;
let burner: ReturnType<typeof Bun.spawn>;
const procs: Proc[] = [];
/** console errors, page errors, dialogs and requests that left the server */
const problems: string[] = [];
/** while a test removes the session on purpose, the browser logs the refused requests */
let expectRefusals = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pmon-ui-"));
  const port = freePort();
  url = `http://127.0.0.1:${port}`;
  const storage = `sqlite:${join(dir, "pmon.db")}`;
  // the fleet page refreshes every agent.interval_s of the server's config: 1 s here; any memory use
  // crosses a 0 % threshold, so the agent's first report raises a real mem alert (no channel configured)
  procs.push(startServer(dir, storage, port, "server", { PMON_AGENT_INTERVAL_S: "1", PMON_ALERTS_MEM_PCT: "0", PMON_ALERTS_LANGUAGE: "en" }));
  await waitHttp(url);
  const secretFile = join(dir, `${HOST}.secret`);
  expect(await enrollNoDeploy(dir, storage, HOST, secretFile)).toBe(0);
  // a host whose deploy failed, named to sort after ui-1, and an open alert whose message is markup (of a kind
  // the server's own rules never resolve, so it stays open while the test runs)
  expect(await enrollNoDeploy(dir, storage, FAILED, join(dir, `${FAILED}.secret`))).toBe(0);
  const setup = openDb(storage);
  await setup.exec("UPDATE tb_monitor_host_config SET deploy_error = ? WHERE rshost = ?", [`ssh: ${MARKUP}`, FAILED]);
  await setup.exec("INSERT INTO tb_monitor_alert_info (rshost, kind, istate, sent, since, a_time, owner, remarks) VALUES (?, 'server_down', 1, 1, ?, ?, 's1', ?)", [
    HOST,
    sqlTime(Date.now() - 60_000),
    sqlTime(Date.now()),
    `server down: ${MARKUP}`,
  ]);
  await setup.close();
  // one core busy, under a command line that is also markup
  burner = Bun.spawn(["sh", "-c", "while :; do :; done", MARKUP], { stdio: ["ignore", "ignore", "ignore"] });
  procs.push(startAgent({ dir, host: HOST, servers: [url], secretFile }));
  db = openDb(storage);
  // the burner kept in at least 4 reports, so the points next to the newest all hold it
  await until(
    async () => Number((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM tb_monitor_process_io_info WHERE rshost = ? AND pid = ?", [HOST, burner.pid]))[0]!.n) >= 4,
    60_000,
    "the burner in 4 reports",
  );
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  burner?.kill("SIGKILL");
  for (const p of procs) p.proc.kill("SIGKILL");
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const page = await browser.browser.newPage();
  page.on("console", (m) => {
    // a refused login is a 401 by design; the browser logs every refused request
    const refused = /status of 401/.test(m.text()) && (m.location().url?.endsWith("/ui/api/login") || (expectRefusals && m.location().url?.includes("/ui/api/")));
    if (m.type() === "error" && !refused) problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${(e as Error).message}`));
  page.on("dialog", (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on("request", (r) => {
    if (!r.url().startsWith(url + "/") && !r.url().startsWith("data:")) problems.push(`outside request: ${r.url()}`);
  });
  return page;
}

const operatorSecret = () => readFileSync(join(dir, "server", "operator.secret"), "utf8").trim();

async function logIn(page: Page, secret: string): Promise<void> {
  await page.waitForSelector("#secret");
  await page.$eval("#secret", (el) => ((el as HTMLInputElement).value = ""));
  await page.type("#secret", secret);
  await page.keyboard.press("Enter");
}

/** No element wider than the viewport: nothing scrolls sideways at this width. */
const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

test("log in, fleet, host charts, a moment picked by keyboard lists the burner, permalink, 375 px, logout", async () => {
  const page = await newPage();
  await page.setViewport({ width: 1200, height: 900 });
  await page.goto(url + "/");

  // a bad secret is refused and nothing else shows
  await logIn(page, "not-the-secret");
  await page.waitForFunction(() => document.querySelector("#login-error")?.textContent?.includes("Wrong operator secret"));
  expect(await page.$("#fleet")).toBeNull();

  await logIn(page, operatorSecret());
  await page.waitForSelector(`#fleet tr[data-host="${HOST}"]`);
  const row = await page.$eval(`#fleet tr[data-host="${HOST}"]`, (tr) => tr.textContent ?? "");
  expect(row).toContain("running");
  const health = await page.$eval(".health", (el) => el.textContent ?? "");
  expect(health).toContain("store up (sqlite)");
  // problems first; sorting by a column title; the failed host's error is text
  const order = () => page.$$eval("#fleet tbody tr", (trs) => trs.map((tr) => tr.getAttribute("data-host")));
  expect(await order()).toEqual([FAILED, HOST]);
  expect(await page.$eval(`#fleet tr[data-host="${FAILED}"]`, (tr) => tr.textContent)).toContain("failed");
  expect(await page.$eval(".problems", (ul) => ({ text: ul.textContent, links: ul.querySelectorAll("a").length, all: ul.querySelectorAll("*").length }))).toEqual({
    text: `${FAILED}: deploy failed: ssh: ${MARKUP}`,
    links: 1,
    all: 2,
  });
  // the table is rebuilt every second: click and read inside the page, and keep the focus on the button
  const clickSort = () =>
    page.$eval("#fleet thead th:first-child button", (b) => {
      (b as unknown as Clickable).focus();
      (b as unknown as Clickable).click();
    });
  await clickSort();
  expect(await page.$eval("#fleet thead th:first-child", (th) => th.getAttribute("aria-sort"))).toBe("ascending");
  expect(await order()).toEqual([HOST, FAILED]);
  await clickSort();
  expect(await order()).toEqual([FAILED, HOST]);
  // refreshed on its own: the health line carries the time of the last refresh
  await page.waitForFunction((before: string) => document.querySelector(".health")?.textContent !== before, { timeout: 15_000 }, health);
  expect(await order()).toEqual([FAILED, HOST]);
  expect(await page.evaluate(() => document.activeElement?.getAttribute("data-key"))).toBe("sort-0");

  // the host page draws its charts from the stored reports
  await page.$eval(`#fleet tr[data-host="${HOST}"] a`, (a) => (a as unknown as Clickable).click());
  await page.waitForSelector(".figure canvas");
  const figures = await page.$$eval(".figure", (fs) => fs.map((f) => ({ title: f.querySelector("figcaption")?.textContent, points: Number(f.getAttribute("data-points")), series: Number(f.getAttribute("data-series")) })));
  const cpu = figures.find((f) => f.title?.startsWith("CPU by process"))!;
  expect(cpu.points).toBeGreaterThanOrEqual(4);
  expect(cpu.series).toBeGreaterThanOrEqual(2);
  expect(figures.map((f) => f.title)).toEqual(expect.arrayContaining(["Memory by process (RSS)", "Network, all interfaces but lo", "Network per interface", "Filesystem use"]));
  // per interface: lo carries the agent's reports to the server, so its series are there and not all zero
  const perInterface = await page.$$eval(".figure", (fs) => {
    const f = fs.find((x) => x.querySelector("figcaption")?.textContent === "Network per interface")!;
    return { labels: [...f.querySelectorAll(".u-legend .u-series .u-label")].map((l) => l.textContent), series: Number(f.getAttribute("data-series")) };
  });
  expect(perInterface.labels).toEqual(expect.arrayContaining(["lo rx", "lo tx"]));
  expect(perInterface.series).toBeGreaterThanOrEqual(2);
  const reply = await page.evaluate(async (host: string) => {
    const r = await fetch(`/ui/api/host?host=${host}&from=${Date.now() - 3_600_000}&to=${Date.now()}`);
    return (await r.json()) as { series: { interfaces: { name: string; rx: (number | null)[]; tx: (number | null)[] }[] } };
  }, HOST);
  const lo = reply.series.interfaces.find((i) => i.name === "lo")!;
  expect(Math.max(...lo.rx.map((v) => v ?? 0))).toBeGreaterThan(0);
  // and really painted: the CPU chart's canvas holds coloured pixels (the stacked areas)
  const painted = await page.$eval(".figure canvas", (c) => {
    const canvas = c as unknown as { width: number; height: number; getContext(t: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let coloured = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i + 3]! > 0 && !(px[i] === px[i + 1] && px[i + 1] === px[i + 2])) coloured++;
    return coloured;
  });
  expect(painted).toBeGreaterThan(1000);
  // the burner is a series of the CPU chart
  const legend = await page.$eval(".figure", (f) => f.querySelector(".u-legend")?.textContent ?? "");
  expect(legend).toContain(` ${burner.pid}`);

  // keyboard only: tab to the CPU chart, move the cursor, Enter picks that moment
  let tabs = 0;
  while (!(await page.evaluate(() => document.activeElement?.classList.contains("chart") ?? false))) {
    await page.keyboard.press("Tab");
    if (++tabs > 40) throw new Error("tabbing never reached a chart");
  }
  expect(await page.evaluate(() => document.activeElement?.closest(".figure")?.querySelector("figcaption")?.textContent)).toBe("CPU by process (% of one core)");
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Enter");
  await page.waitForSelector(`#top tr[data-pid="${burner.pid}"]`, { timeout: 15_000 });
  const hash = new URL(page.url()).hash;
  expect(hash).toMatch(new RegExp(`^#/host/${HOST}\\?range=24h&at=\\d{13}$`));

  // the command line is shown as text: no element, no script ran
  const cell = await page.$eval(`#top tr[data-pid="${burner.pid}"] td.cmd`, (td) => ({ text: td.textContent, elements: td.childElementCount }));
  expect(cell.text).toContain(MARKUP);
  expect(cell.elements).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned ?? 0)).toBe(0);
  const topRow = await page.$eval(`#top tr[data-pid="${burner.pid}"]`, (tr) => [...tr.children].map((c) => c.textContent));
  expect(topRow[0]).toBe(String(burner.pid));
  expect(topRow[2]).toBe("root");
  expect(topRow[4]).toMatch(/^\d+(\.\d)?%$/);

  // the link reproduces the view: a fresh tab opens the same host, range and moment
  const again = await newPage();
  await again.goto(url + "/" + hash);
  await again.waitForSelector(`#top tr[data-pid="${burner.pid}"]`, { timeout: 15_000 });
  expect(await again.$eval("h2", (el) => el.textContent)).toBe(await page.$eval("#moment h2", (el) => el.textContent));

  // readable on a phone: nothing scrolls sideways, tables scroll inside their box
  await again.setViewport({ width: 375, height: 800 });
  await again.waitForFunction(() => document.querySelector(".figure canvas") !== null);
  await Bun.sleep(200);
  expect(await overflow(again)).toBeLessThanOrEqual(0);
  await again.goto(url + "/#/");
  await again.waitForSelector(`#fleet tr[data-host="${HOST}"]`);
  expect(await overflow(again)).toBeLessThanOrEqual(0);
  await again.goto(url + "/#/alerts");
  await again.waitForSelector("#open-alerts");
  const alertCell = await again.$$eval("#open-alerts tbody tr", (trs) =>
    trs.filter((tr) => tr.children[1]?.textContent === "server_down").map((tr) => ({ text: tr.querySelector("td.cmd")?.textContent, elements: tr.querySelector("td.cmd")?.childElementCount })),
  );
  expect(alertCell).toEqual([{ text: `server down: ${MARKUP}`, elements: 0 }]);
  // the alert log lists the real message the server sent for the agent's first report, once
  await again.waitForSelector("#alert-log");
  const logged = await again.$$eval("#alert-log tbody tr", (trs) => trs.map((tr) => ({ kind: tr.getAttribute("data-kind"), state: tr.getAttribute("data-state"), cells: [...tr.children].map((c) => c.textContent) })));
  const mem = logged.filter((r) => r.kind === "mem");
  expect(mem).toHaveLength(1);
  expect(mem[0]!.state).toBe("firing");
  expect(mem[0]!.cells[1]).toBe(HOST);
  expect(mem[0]!.cells[5]).toBe("no channel");
  expect(mem[0]!.cells[7]).toMatch(new RegExp(`^pmon: ${HOST}: memory \\d+ %`));
  expect(await overflow(again)).toBeLessThanOrEqual(0);
  await again.close();

  // the range buttons and a from-to window (UTC) go into the URL
  await page.click("button.range:first-of-type");
  await page.waitForFunction(() => location.hash.includes("range=1h"));
  await page.waitForSelector(".figure canvas");
  expect(await page.$eval("button.range[aria-pressed=true]", (b) => b.textContent)).toBe("1h");
  const to = Date.now();
  const from = to - 30 * 60_000;
  const utc = (ms: number) => new Date(ms).toISOString().slice(0, 16);
  await page.$eval("#range-from", (el, v) => ((el as HTMLInputElement).value = v), utc(from));
  await page.$eval("#range-to", (el, v) => ((el as HTMLInputElement).value = v), utc(to + 60_000));
  await page.click(".custom-range button[type=submit]");
  await page.waitForFunction(() => location.hash.includes("from="));
  const custom = new URLSearchParams(new URL(page.url()).hash.split("?")[1]);
  expect(Number(custom.get("from"))).toBe(Date.parse(utc(from) + ":00Z"));
  expect(Number(custom.get("to"))).toBe(Date.parse(utc(to + 60_000) + ":00Z"));
  await page.waitForSelector(".figure canvas");

  // a session that ends while the page is open (here: the cookie is gone) brings the login form back
  await page.goto(url + "/#/");
  await page.waitForSelector(`#fleet tr[data-host="${HOST}"]`);
  expectRefusals = true;
  await page.deleteCookie({ name: "pmon_session" });
  await page.waitForFunction(() => document.querySelector("#login-error")?.textContent?.includes("session has ended"), { timeout: 15_000 });
  expectRefusals = false;
  await logIn(page, operatorSecret());
  await page.waitForSelector(`#fleet tr[data-host="${HOST}"]`);

  // logout ends the session: the data routes refuse and the page asks for the secret again
  await page.click("#logout");
  await page.waitForSelector("#secret");
  expect(await page.evaluate(async () => ((await (await fetch("/ui/api/session")).json()) as { logged_in: boolean }).logged_in)).toBe(false);
  await page.goto(url + "/#/");
  await page.waitForSelector("#secret");
  expect(await page.$("#fleet")).toBeNull();
  await page.close();

  expect(problems).toEqual([]);
}, 120_000);
