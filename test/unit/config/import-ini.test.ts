// The old config.ini parser and mapping, on inline text (the binary round trip is in test/integration/cli).
import { describe, expect, test } from "bun:test";
import { parse } from "smol-toml";
import { importOldConfig, IniError, parseIni } from "../../../src/config/import-ini.ts";

describe("parseIni", () => {
  test("configparser rules: sections, = or :, comments, case-insensitive keys, continuation lines", () => {
    const ini = parseIni("# c\n[global]\nInterval_Time: 30\n; c\nlong = a\n  b\n\n[MSM]\nwx_url = x=y\n");
    expect(ini.get("global")!.get("interval_time")).toBe("30");
    expect(ini.get("global")!.get("long")).toBe("a\nb");
    expect(ini.get("MSM")!.get("wx_url")).toBe("x=y");
  });

  test("a key before any section is an error with the line", () => {
    expect(() => parseIni("\nkey = 1\n")).toThrow(IniError);
    expect(() => parseIni("\nkey = 1\n")).toThrow(/^line 2: expected \[section\] or key = value/);
  });
});

describe("importOldConfig", () => {
  test("quotes are stripped, units converted, the password only in the TOML", () => {
    const r = importOldConfig(
      `[global]\ninterval_time = "15"\nretention_day = 7\nmount_part =\n[RULE]\nio = 5120\nnet = 'abc'\n[Monitor]\nmysql_host = db\nmysql_user = u\nmysql_pass = "p w"\nmysql_db = m\n`,
    );
    const doc = parse(r.toml) as Record<string, Record<string, unknown>>;
    expect(doc.agent).toEqual({ interval_s: 15, mounts: [] });
    expect(doc.thresholds).toEqual({ disk_io_mib_s: 5 });
    expect(doc.server).toEqual({ retention_days: 7, storage: "mysql://u:p%20w@db:3306/m" });
    expect(r.unmapped).toContainEqual({ from: "RULE.net", why: '"abc" is not a number' });
    expect(JSON.stringify([r.mapped, r.unmapped])).not.toContain("p w");
    expect(JSON.stringify([r.mapped, r.unmapped])).not.toContain("p%20w");
  });

  test("an interval that is not whole is not mapped", () => {
    const r = importOldConfig("[global]\ninterval_time = 2.5\n");
    expect(r.unmapped).toContainEqual({ from: "global.interval_time", why: '"2.5" is not a whole number' });
    expect(r.toml).not.toContain("interval_s");
  });
});
