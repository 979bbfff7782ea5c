// What the takeover script reported, turned into the enroll summary's sentence.
import { describe, expect, test } from "bun:test";
import { describeTakeover, parseTakeover } from "../../../src/deploy/legacy-client.ts";

describe("old client takeover summary", () => {
  test("every action is named; the kept directory says how to delete it", () => {
    const t = parseTakeover("cron=/var/spool/cron/root\nstopped=4242\nconfig=/opt/soft/rpc_for_monitor/conf/config.ini\ndir_kept=/opt/soft/rpc_for_monitor\n");
    expect(describeTakeover(t)).toBe(
      "old client taken over: removed its cron entry from /var/spool/cron/root; stopped pid 4242; " +
        "deleted /opt/soft/rpc_for_monitor/conf/config.ini (database credentials); " +
        "kept the rest of /opt/soft/rpc_for_monitor (deploy.remove_legacy_dir = true deletes it)",
    );
  });

  test("a removed directory is said; a host without the old client gives no sentence", () => {
    expect(describeTakeover(parseTakeover("dir_removed=/opt/soft/rpc_for_monitor\n"))).toBe("old client taken over: removed /opt/soft/rpc_for_monitor");
    expect(describeTakeover(parseTakeover(""))).toBeNull();
    expect(describeTakeover(parseTakeover("stopped=abc\nnoise\n"))).toBeNull();
  });
});
