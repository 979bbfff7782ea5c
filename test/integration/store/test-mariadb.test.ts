import { expect, test } from "bun:test";
import mysql from "mysql2/promise";
import { testMariaDB } from "../../helpers/mariadb.ts";

test("the test MariaDB starts and accepts the pmon account", async () => {
  const db = await testMariaDB();
  const c = await mysql.createConnection(db.url);
  const [rows] = await c.query("SELECT VERSION() AS v, DATABASE() AS d");
  await c.end();
  expect((rows as any)[0].v).toContain("MariaDB");
  expect((rows as any)[0].d).toBe(db.database);
});
