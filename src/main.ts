import { defineCommand, runMain } from "citty";
import { COMMIT, VERSION } from "./version.ts";

const main = defineCommand({
  meta: {
    name: "pmon",
    version: `${VERSION} (${COMMIT})`,
    description: "Fleet-wide, process-level resource monitor: which process used the CPU, memory, disk IO or network, and when",
  },
  subCommands: {
    server: () => import("./cli/server.ts").then((m) => m.default),
    agent: () => import("./cli/agent.ts").then((m) => m.default),
    enroll: () => import("./cli/enroll.ts").then((m) => m.default),
    remove: () => import("./cli/remove.ts").then((m) => m.default),
    status: () => import("./cli/status.ts").then((m) => m.default),
    top: () => import("./cli/top.ts").then((m) => m.default),
    supervise: () => import("./cli/supervise.ts").then((m) => m.default),
  },
});

await runMain(main);
