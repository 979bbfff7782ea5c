// The report schema's optional fields: absent (older agents) is fine, present must have the right type.
import { describe, expect, test } from "bun:test";
import { decodeReport, ReportError } from "../../../src/protocol/report.ts";
import { makeProcess, makeReport } from "../../helpers/reports.ts";

describe("process.exited", () => {
  const withProcess = (p: object) => JSON.parse(JSON.stringify(makeReport({ processes: [p as never] })));

  test("absent, true or false is accepted", () => {
    expect(decodeReport(withProcess(makeProcess())).processes[0]!.exited).toBeUndefined();
    expect(decodeReport(withProcess(makeProcess({ exited: true }))).processes[0]!.exited).toBe(true);
    expect(decodeReport(withProcess(makeProcess({ exited: false }))).processes[0]!.exited).toBe(false);
  });

  test("anything else names the field", () => {
    expect(() => decodeReport(withProcess({ ...makeProcess(), exited: 1 }))).toThrow(new ReportError("report.processes[0].exited", "expected a boolean, got number"));
  });

  test("required fields stay required", () => {
    const { threads: _, ...noThreads } = makeProcess();
    expect(() => decodeReport(withProcess(noThreads))).toThrow("report.processes[0].threads: missing");
  });
});
