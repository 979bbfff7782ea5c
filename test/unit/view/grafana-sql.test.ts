import { expect, test } from "bun:test";
import { expandGrafanaSql, intervalSeconds, rewriteJsonArrows } from "../../helpers/view/grafana-sql.ts";

const range = { from: 1700000000, to: 1700003600, interval: "1m" };

test("macros expand as Grafana's MySQL data source does", () => {
  expect(expandGrafanaSql("SELECT $__timeGroupAlias(a_time, $__interval), x FROM t WHERE $__timeFilter(a_time)", {}, range)).toBe(
    'SELECT UNIX_TIMESTAMP(a_time) DIV 60 * 60 AS "time", x FROM t WHERE a_time BETWEEN FROM_UNIXTIME(1700000000) AND FROM_UNIXTIME(1700003600)',
  );
  expect(expandGrafanaSql("$__timeGroup(f(a, b), '5m') $__unixEpochFilter(ts) $__timeFrom() $__unixEpochTo()", {}, range)).toBe(
    "UNIX_TIMESTAMP(f(a, b)) DIV 300 * 300 ts >= 1700000000 AND ts <= 1700003600 FROM_UNIXTIME(1700000000) 1700003600",
  );
  expect(() => expandGrafanaSql("$__nope(x)", {}, range)).toThrow("unknown Grafana macro");
});

test("multi-value variables are quoted, single ones are raw", () => {
  const vars = { host: { values: ["a", "o'b"], multi: true }, n: { values: ["10"], multi: false } };
  expect(expandGrafanaSql("rshost IN (${host}) LIMIT $n [[n]]", vars, range)).toBe("rshost IN ('a','o''b') LIMIT 10 10");
  expect(expandGrafanaSql("rshost = '$host'", { host: { values: ["10.0.0.1"], multi: false } }, range)).toBe("rshost = '10.0.0.1'");
  expect(() => expandGrafanaSql("$missing", {}, range)).toThrow("unknown variable");
});

test("MySQL's -> becomes JSON_EXTRACT for MariaDB", () => {
  expect(rewriteJsonArrows("CONVERT(cpu_info -> '$.total', UNSIGNED) + json_unquote(t.io_info->'$.Total.read')")).toBe(
    "CONVERT(JSON_EXTRACT(cpu_info,'$.total'), UNSIGNED) + json_unquote(JSON_EXTRACT(t.io_info,'$.Total.read'))",
  );
  expect([intervalSeconds("30s"), intervalSeconds("2h"), intervalSeconds("'1d'")]).toEqual([30, 7200, 86400]);
});
