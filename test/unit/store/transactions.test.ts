// SQLite transactions over one connection are serialised: a concurrent caller never joins another
// caller's transaction, so one caller's rollback cannot take the other's rows with it.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, type Db } from "../../../src/store/db.ts";

let dir = "";
let db: Db;

async function open(): Promise<Db> {
  dir = mkdtempSync(join(tmpdir(), "pmon-tx-"));
  db = openDb(`sqlite:${join(dir, "tx.db")}`);
  await db.exec("CREATE TABLE t (name TEXT NOT NULL)");
  return db;
}

afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const names = async (d: Db) => (await d.query<{ name: string }>("SELECT name FROM t ORDER BY name")).map((r) => r.name);

// The ordering tests need transaction A open, with its row "a" written, while they start something else.
async function failingTransactionHeldOpen(d: Db): Promise<{ a: Promise<unknown>; release: () => void }> {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let inserted!: () => void;
  const aInserted = new Promise<void>((r) => (inserted = r));
  const a = d.transaction(async (tx) => {
    await tx.exec("INSERT INTO t (name) VALUES (?)", ["a"]);
    inserted();
    await gate;
    throw new Error("a fails");
  });
  await aInserted;
  return { a, release };
}

describe("sqlite transactions", () => {
  test("a concurrent caller's row survives another caller's rollback", async () => {
    const d = await open();
    const { a, release } = await failingTransactionHeldOpen(d);
    // B starts while A's transaction is open.
    const b = d.transaction(async (tx) => {
      await tx.exec("INSERT INTO t (name) VALUES (?)", ["b"]);
      return "b done";
    });
    release();

    await expect(a).rejects.toThrow("a fails");
    expect(await b).toBe("b done");
    expect(await names(d)).toEqual(["b"]);
  });

  test("a statement outside a transaction waits for it instead of joining it", async () => {
    const d = await open();
    const { a, release } = await failingTransactionHeldOpen(d);
    const outside = d.exec("INSERT INTO t (name) VALUES (?)", ["outside"]);
    release();
    await expect(a).rejects.toThrow("a fails");
    await outside;
    expect(await names(d)).toEqual(["outside"]);
  });

  test("the handle of an ended transaction refuses statements", async () => {
    const d = await open();
    let kept!: Db;
    await d.transaction(async (tx) => {
      kept = tx;
      await tx.exec("INSERT INTO t (name) VALUES (?)", ["x"]);
    });
    await expect(kept.exec("INSERT INTO t (name) VALUES (?)", ["late"])).rejects.toThrow("after its transaction ended");
    expect(await names(d)).toEqual(["x"]);
  });

  test("a nested transaction on the handle runs inside the outer one", async () => {
    const d = await open();
    await expect(
      d.transaction(async (tx) => {
        await tx.transaction(async (inner) => {
          await inner.exec("INSERT INTO t (name) VALUES (?)", ["nested"]);
        });
        throw new Error("outer fails");
      }),
    ).rejects.toThrow("outer fails");
    expect(await names(d)).toEqual([]);
  });
});
