import { expect, test } from "bun:test";
import { createLogger } from "../../src/log.ts";

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
