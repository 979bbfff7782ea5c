import { defineCommand, renderUsage, runMain, type ArgsDef, type CommandDef } from "citty";
import { EXAMPLES } from "./cli/_examples.ts";
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
    config: () => import("./cli/config.ts").then((m) => m.default),
    completion: () => import("./cli/completion.ts").then((m) => m.completionCommand),
    supervise: () => import("./cli/supervise.ts").then((m) => m.default),
  },
});

/** citty's usage text plus the command's examples. */
async function showUsage<T extends ArgsDef = ArgsDef>(cmd: CommandDef<T>, parent?: CommandDef<T>): Promise<void> {
  const meta = typeof cmd.meta === "function" ? await cmd.meta() : await cmd.meta;
  const examples = EXAMPLES[meta?.name ?? ""] ?? [];
  const text = await renderUsage(cmd, parent);
  console.log(text + (examples.length ? `\nEXAMPLES\n\n${examples.map((e) => `  ${e}`).join("\n")}\n` : "") + "\n");
}

if (process.argv[2] === "__complete") await (await import("./cli/completion.ts")).printCompletions(main, process.argv.slice(3));
else await runMain(main, { showUsage });
