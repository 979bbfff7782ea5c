import { describe, expect, test } from "bun:test";
import { formatInstance, instanceArgs } from "../../../src/collect/instance.ts";

describe("instanceArgs", () => {
  test.each([
    [["mysqld", "--port=3307"], ["port=3307"]],
    [["mysqld", "--port", "3307"], ["port=3307"]],
    [["redis-server", "-p", "6380"], ["port=6380"]],
    [["x", "-p6380"], ["port=6380"]],
    [["mysqld", "--defaults-file=/etc/my3307.cnf"], ["defaults-file=/etc/my3307.cnf"]],
    [["mysqld", "--defaults-file", "/etc/my.cnf"], ["defaults-file=/etc/my.cnf"]],
    [["java", "-Dcom.sun.management.jmxremote.port=9010", "-Dserver.port=8080"], ["jmx-port=9010", "port=8080"]],
    [["x", "--port=99999"], []],
    [["x", "-p", "secret"], []],
    [["x", "--port"], []],
    [["--port=1"], []], // argv[0] is the program, never an option
    [["x", "--port=1", "--port", "1"], ["port=1"]],
  ])("%p -> %p", (args, want) => {
    expect(instanceArgs(args)).toEqual(want);
  });
});

test("formatInstance adds sorted unique listen ports and caps the length", () => {
  expect(formatInstance(["mysqld", "--port=3307", "--defaults-file=/etc/my3307.cnf"], [33070, 3307, 3307])).toBe("port=3307 defaults-file=/etc/my3307.cnf listen=3307,33070");
  expect(formatInstance(["sleep"], [])).toBe("");
  expect(formatInstance(["x", `--defaults-file=${"a".repeat(2000)}`], []).length).toBe(1024);
});
