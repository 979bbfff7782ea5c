// Host strings on the operator's terminal: controls and bidi overrides are shown as escapes by every
// renderer (tables of status/top/enroll/remove, agent --once text, --json).
import { describe, expect, test } from "bun:test";
import { formatReportSummary } from "../../../src/collect/summary.ts";
import { escapeControls, terminalJson } from "../../../src/util/terminal.ts";
import { ProgressLines } from "../../../src/view/progress.ts";
import { renderOutcomes } from "../../../src/view/outcomes.ts";
import { renderStatus } from "../../../src/view/status.ts";
import { renderTop } from "../../../src/view/top.ts";
import { makeProcess, makeReport } from "../../helpers/reports.ts";

const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const EVIL = "vim \x1b[2J\x1b]0;owned\x07 \u202eevil\u2066 \x9b31m \x7f";

describe("escapeControls", () => {
  test("C0, DEL, C1 and bidi overrides become \\xNN / \\uNNNN; other text stays", () => {
    expect(escapeControls(EVIL)).toBe("vim \\x1b[2J\\x1b]0;owned\\x07 \\u202eevil\\u2066 \\x9b31m \\x7f");
    expect(escapeControls("mysqld --port=3306 é 中文 😀")).toBe("mysqld --port=3306 é 中文 😀");
  });

  test("JSON output stays valid JSON with nothing raw", () => {
    const text = terminalJson({ cmdline: EVIL });
    expect(text).not.toMatch(RAW);
    expect(JSON.parse(text).cmdline).toBe(EVIL);
  });
});

describe("renderers", () => {
  test("pmon top, agent --once and enroll/remove summaries print no raw control character", () => {
    const top = renderTop(
      {
        mode: "at",
        by: "cpu",
        limit: 10,
        host: "db1",
        hosts: 1,
        at: Date.UTC(2026, 10, 24, 3),
        rows: [{ host: "db1", pid: 7, instance: "\x1b[31m", comm: "vim", cmdline: EVIL, value: 50, share: 0.5, sample_time: Date.UTC(2026, 10, 24, 3), samples: 1, host_samples: 1 }],
      } as unknown as Parameters<typeof renderTop>[0],
      { colour: false },
    );
    expect(top).toContain("\\x1b[2J");
    expect(top).toContain("\\u202eevil");
    expect(top).not.toMatch(RAW);

    const once = formatReportSummary(makeReport({ processes: [makeProcess({ cmdline: EVIL })] }));
    expect(once).toContain("\\u202e");
    expect(once).not.toMatch(RAW);

    const outcomes = renderOutcomes([{ rshost: "h1", state: "failed", ok: false, detail: `ssh said: ${EVIL}` }] as unknown as Parameters<typeof renderOutcomes>[0], false);
    expect(outcomes).toContain("\\x07");
    expect(outcomes).not.toMatch(RAW);

    const host = { host: "db1", state: "failed", agent_version: "0.1\x1b[5m", age_ms: 1000, cpu_pct: 1, load1: 1, mem_used_pct: 1, fs_max_pct: 1, fs_max_mount: "/mnt/\u202e", net_rx_bytes_per_s: 0, net_tx_bytes_per_s: 0, deploy_error: EVIL, top_process: { comm: "x\x07", instance: "", pid: 1, cpu_pct: 1 } };
    const status = renderStatus([host] as unknown as Parameters<typeof renderStatus>[0], { colour: false });
    expect(status).toContain("deploy failed: vim \\x1b[2J");
    expect(status).not.toMatch(RAW);
  });
});

describe("enroll and remove progress lines", () => {
  test("what a host sends back (ssh errors, its agent's log) is escaped", () => {
    const lines: string[] = [];
    new ProgressLines((l) => lines.push(l), 1, () => 0).update("h1", "failed: \x1b]0;owned\x07 \u202eevil");
    expect(lines).toEqual(["[1/1] h1  failed: \\x1b]0;owned\\x07 \\u202eevil  (0.0 s)"]);
  });
});
