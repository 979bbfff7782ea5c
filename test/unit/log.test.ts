import { expect, test } from "bun:test";
import { closeSync, openSync } from "node:fs";
import { createLogger } from "../../src/log.ts";
import { isTerminal } from "../../src/util/output.ts";

function capture(env: Record<string, string | undefined>) {
  const lines: string[] = [];
  const log = createLogger("info", { write: (t: string) => lines.push(...t.split("\n").filter(Boolean)), isTTY: false }, env);
  return { log, lines };
}

test("off a terminal every log line starts with an ISO-8601 UTC time", () => {
  const { log, lines } = capture({});
  log.withTag("net").warn("first\nsecond");
  log.info("third");
  expect(lines).toHaveLength(3);
  for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[(warn|info)\] /);
  expect(lines[0]).toEndWith("[warn] [net] first");
  expect(lines[1]).toEndWith("[warn] [net] second");
});

test("under journald (JOURNAL_STREAM set) no time is added: journald stamps lines itself", () => {
  const { log, lines } = capture({ JOURNAL_STREAM: "8:12345" });
  log.error("boom");
  expect(lines).toEqual(["[error] boom"]);
});

test("no colour codes off a terminal", () => {
  const { log, lines } = capture({});
  log.success("done");
  expect(lines.join("")).not.toContain("\u001b[");
});

test("tags nest, levels filter, and objects print as console.log would", () => {
  const lines: string[] = [];
  const log = createLogger("warn", { write: (t: string) => lines.push(t), isTTY: false }, { JOURNAL_STREAM: "1:1" });
  log.info("hidden");
  log.debug("hidden too");
  log.withTag("agent").withTag("net").warn("shown", { port: 80 }, 3);
  log.error(new Error("boom"));
  expect(lines[0]).toBe("[warn] [agent:net] shown { port: 80 } 3\n");
  expect(lines[1]).toStartWith("[error] Error: boom\n[error]     at ");
  expect(lines).toHaveLength(2);
});

test("setReporters takes the lines of the logger and its tagged children", () => {
  const log = createLogger("info", { write: () => {}, isTTY: false });
  const child = log.withTag("spool");
  const seen: string[] = [];
  log.setReporters([{ log: (o) => seen.push(`${o.type} ${o.tag} ${o.args.join(" ")}`) }]);
  child.info("kept");
  expect(seen).toEqual(["info spool kept"]);
});

test("/dev/null is not a terminal, nor is a closed fd", () => {
  const fd = openSync("/dev/null", "w");
  try {
    expect(isTerminal(fd)).toBe(false);
  } finally {
    closeSync(fd);
  }
  expect(isTerminal(-1)).toBe(false);
});
