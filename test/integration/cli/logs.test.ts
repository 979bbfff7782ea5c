// Log lines of the binary when stderr is a file or a pipe: an ISO-8601 UTC time on every line, none
// under journald (JOURNAL_STREAM set), and no colour codes.
import { expect, test } from "bun:test";
import { pmon } from "../../helpers/pmon-binary.ts";

const ISO_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[(error|warn|info|success|debug)\] /;

test("piped: every line stamped in UTC, plain", async () => {
  const r = await pmon(["top", "--config", "/nonexistent/pmon.toml"], { env: { NO_COLOR: undefined, TERM: "xterm-256color" } });
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines.length).toBeGreaterThan(0);
  for (const l of lines) expect(l).toMatch(ISO_LINE);
  const stamped = Date.parse(lines[0]!.split(" ")[0]!);
  expect(Math.abs(Date.now() - stamped)).toBeLessThan(60_000);
  expect(r.stderr).not.toContain("\u001b[");
});

test("under journald: no time of our own (journald adds it)", async () => {
  const r = await pmon(["top", "--config", "/nonexistent/pmon.toml"], { env: { JOURNAL_STREAM: "8:12345" } });
  expect(r.code).toBe(2);
  for (const l of r.stderr.trim().split("\n")) expect(l).toMatch(/^\[(error|warn|info)\] /);
});
