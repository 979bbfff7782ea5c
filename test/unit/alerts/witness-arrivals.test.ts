// The witness list (the first fresh hosts by name) stays exact while a large fleet arrives after a server
// start, although the server no longer recomputes it for every newly arriving host.
import { expect, test } from "bun:test";
import { createAlertService } from "../../../src/alerts/loop.ts";
import { selectWitnesses } from "../../../src/alerts/witnesses.ts";
import { registerHostWithSecret } from "../../../src/fleet/register.ts";
import { createLogger } from "../../../src/log.ts";
import { openDb } from "../../../src/store/db.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { makeReport, testConfig } from "../../helpers/alerts/helpers.ts";

test("hosts arriving in any order: every reply names the same witnesses a full recomputation would", async () => {
  const db = openDb("sqlite::memory:");
  await migrate(db);
  const hosts = Array.from({ length: 200 }, (_, i) => `w-${String(i).padStart(3, "0")}`);
  for (const h of hosts) await registerHostWithSecret(db, h);
  let clock = 1_000_000;
  const alerts = createAlertService({ config: testConfig({}, []), log: createLogger("silent"), db, now: () => clock, sameMachine: ["w-150"] });
  await alerts.refreshWitnesses();
  expect(alerts.witnesses()).toEqual([]); // nobody has reported yet
  // a shuffled arrival order (fixed seed), one arrival per ms, a reply after each
  const order = [...hosts];
  let seed = 7;
  for (let i = order.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const arrivedAt = new Map<string, number>();
  for (const h of order) {
    clock += 1;
    arrivedAt.set(h, clock);
    alerts.onArrivals([{ report: makeReport(h, `${h}-1`, clock), receivedAt: clock, replay: false }]);
    const expected = selectWitnesses(
      hosts.map((x) => ({ rshost: x, lastReportAt: arrivedAt.get(x) ?? null })),
      clock,
      75_000,
      undefined,
      new Set(["w-150"]),
    );
    expect(alerts.witnesses()).toEqual(expected);
  }
  expect(alerts.witnesses()).toEqual(["w-000", "w-001", "w-002"]);
  await db.close();
});
