// Replies never carry a database driver's text: unexpected and store failures say where to look instead.
import { expect, test } from "bun:test";
import { errorResponse, HttpError } from "../../../src/server/errors.ts";

test("internal and store-unavailable replies keep the driver's text out; refusals keep their reason", async () => {
  const body = async (e: HttpError) => ((await errorResponse(e).json()) as { code: string; error: string });
  const internal = await body(new HttpError(500, "internal", "internal error: ER_PARSE_ERROR near 'tb_monitor_host_config'"));
  expect(internal.error).not.toContain("tb_monitor");
  expect(internal.error).toContain("server log");
  const down = await body(new HttpError(503, "store_unavailable", "store unavailable: connect ECONNREFUSED 10.1.2.3:3306"));
  expect(down.error).not.toContain("10.1.2.3");
  expect(down.code).toBe("store_unavailable");
  const refused = await body(new HttpError(400, "bad_report", "report.processes[0].pid: out of range"));
  expect(refused.error).toBe("report.processes[0].pid: out of range");
});
