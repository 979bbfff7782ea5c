import { defineCommand, renderUsage, runMain, type ArgsDef, type CommandDef } from "citty";
import { EXAMPLES } from "./cli/_examples.ts";
import { internalError, withInternalErrors } from "./cli/_internal-error.ts";
import { COMMIT, VERSION } from "./version.ts";

const main = defineCommand({
  meta: {
    name: "pmon",
    version: `${VERSION} (${COMMIT})`,
    description: "Fleet-wide, process-level resource monitor: which process used the CPU, memory, disk IO or network, and when",
  },
  subCommands: withInternalErrors({
    server: () => import("./cli/server.ts").then((m) => m.default),
    agent: () => import("./cli/agent.ts").then((m) => m.default),
    enroll: () => import("./cli/enroll.ts").then((m) => m.default),
    remove: () => import("./cli/remove.ts").then((m) => m.default),
    status: () => import("./cli/status.ts").then((m) => m.default),
    top: () => import("./cli/top.ts").then((m) => m.default),
    supervise: () => import("./cli/supervise.ts").then((m) => m.default),
    migrate: () => import("./cli/migrate.ts").then((m) => m.default),
    config: () => import("./cli/config.ts").then((m) => m.default),
  }),
});

/** citty's usage text plus the command's examples. */
async function showUsage<T extends ArgsDef = ArgsDef>(cmd: CommandDef<T>, parent?: CommandDef<T>): Promise<void> {
  const meta = typeof cmd.meta === "function" ? await cmd.meta() : await cmd.meta;
  const examples = EXAMPLES[meta?.name ?? ""] ?? [];
  const text = await renderUsage(cmd, parent);
  console.log(text + (examples.length ? `\nEXAMPLES\n\n${examples.map((e) => `  ${e}`).join("\n")}\n` : "") + "\n");
}

// Failures outside a command's run (a loop's stray rejection) end the same way as inside one.
process.on("uncaughtException", (e) => internalError(e));
process.on("unhandledRejection", (e) => internalError(e));

await runMain(main, { showUsage });
