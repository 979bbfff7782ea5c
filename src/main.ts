import { defineCommand, renderUsage, runMain, type ArgsDef, type CommandDef } from "citty";
import { EXAMPLES } from "./cli/_examples.ts";
import { EXIT } from "./cli/exit-codes.ts";
import { checkArgv, UsageError } from "./cli/strict-args.ts";
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

const plain = () => process.stdout.isTTY !== true || Boolean(process.env.NO_COLOR);
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");

/** citty's usage text plus the command's examples; no colour codes into pipes or with NO_COLOR. */
async function showUsage<T extends ArgsDef = ArgsDef>(cmd: CommandDef<T>, parent?: CommandDef<T>): Promise<void> {
  const meta = typeof cmd.meta === "function" ? await cmd.meta() : await cmd.meta;
  const examples = EXAMPLES[meta?.name ?? ""] ?? [];
  const text = (await renderUsage(cmd, parent)) + (examples.length ? `\nEXAMPLES\n\n${examples.map((e) => `  ${e}`).join("\n")}\n` : "") + "\n";
  console.log(plain() ? stripAnsi(text) : text);
}

const argv = process.argv.slice(2);
if (!argv.some((a) => a === "--help" || a === "-h") && !(argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v"))) {
  try {
    await checkArgv(main as CommandDef, argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`pmon: ${e.message}\nRun \`${e.command} --help\` for the options.\n`);
    process.exit(EXIT.USAGE);
  }
}
await runMain(main, { showUsage });
