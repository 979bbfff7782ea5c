// Command-line masking: every form a secret takes on a command line, the configured extra words, and
// arguments that only look alike are left alone.
import { describe, expect, test } from "bun:test";
import { createMasker, DEFAULT_SENSITIVE_WORDS, MASK } from "../../../src/collect/mask.ts";
import { KEYS } from "../../../src/config/schema.ts";

const mask = (args: string[], extra: string[] = []) => createMasker(extra).maskArgs(args);

describe("maskArgs", () => {
  test("--word=x, --word x, WORD=x, -pX for mysql clients, user:pw@ in URLs", () => {
    expect(mask(["/usr/bin/app", "--password=s1", "--passwd", "s2", "MYSQL_PWD=s3", "--db-token=s4", "--api-key", "s5", "apikey:s6"])).toEqual([
      "/usr/bin/app",
      `--password=${MASK}`,
      "--passwd",
      MASK,
      `MYSQL_PWD=${MASK}`,
      `--db-token=${MASK}`,
      "--api-key",
      MASK,
      `apikey:${MASK}`,
    ]);
    expect(mask(["mysql", "-uroot", "-psecret", "-h", "db", "-P3306", "-p"])).toEqual(["mysql", "-uroot", `-p${MASK}`, "-h", "db", "-P3306", "-p"]);
    expect(mask(["/usr/bin/mariadb-dump", "-pX1"])).toEqual(["/usr/bin/mariadb-dump", `-p${MASK}`]);
    expect(mask(["psql", "postgresql://bob:pw1@db:5432/app", "--url=redis://:pw2@cache:6379", "ftp://u:p@ss:w@rd@h/f@x"])).toEqual([
      "psql",
      `postgresql://bob:${MASK}@db:5432/app`,
      `--url=redis://:${MASK}@cache:6379`,
      `ftp://u:${MASK}@h/f@x`,
    ]);
  });

  test("secrets inside one argument with spaces (sh -c, rewritten process titles)", () => {
    expect(mask(["sh", "-c", "MYSQL_PWD=s1 mysqldump -ps2 --all-databases"])).toEqual(["sh", "-c", `MYSQL_PWD=${MASK} mysqldump -p${MASK} --all-databases`]);
    expect(mask(["postgres: bob app --token s3"])).toEqual([`postgres: bob app --token ${MASK}`]);
  });

  test("look-alikes stay: -p outside mysql clients, program names, URLs without a password, host:port", () => {
    const args = ["/usr/bin/secret-tool", "-p", "8080", "-pfoo", "http://user@host/x", "--host=db:3306", "--verbose"];
    expect(mask(args)).toEqual(args);
  });

  test("configured words are added to the defaults, which stay", () => {
    expect(mask(["app", "--dsn=s1", "--password=s2"], ["dsn"])).toEqual(["app", `--dsn=${MASK}`, `--password=${MASK}`]);
    expect(mask(["app", "--dsn=s1"])).toEqual(["app", "--dsn=s1"]);
    expect(DEFAULT_SENSITIVE_WORDS).toEqual(["password", "passwd", "pwd", "mysql_pwd", "secret", "token", "access_token", "auth_token", "api_key", "apikey", "credentials"]);
    expect(KEYS["agent.sensitive_words"].default).toEqual([]);
  });
});
