import { defineCommand } from "citty";
import { stdout } from "../util/output.ts";
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { ConfigError, loadConfig } from "../config/load.ts";
import { importOldConfig, IniError } from "../config/import-ini.ts";
import { createLogger, type Logger } from "../log.ts";
import { asNumber, UserError } from "./_shared.ts";

// `pmon config import`: the old tool's config.ini to a pmon.toml (mapping in src/config/import-ini.ts).
export const importCommand = defineCommand({
  meta: { name: "import", description: "Write a pmon.toml from the old tool's config.ini, printing each setting it mapped and each it could not" },
  args: {
    "log-level": { type: "string", description: "silent|error|warn|info|debug|trace (default info)" },
    file: { type: "positional", description: "The old config.ini", required: true },
    output: { type: "string", description: "Where to write the TOML (default: pmon.toml in the current directory)", default: "pmon.toml" },
    port: { type: "string", description: "The old server's --port (config.ini does not hold it)" },
    force: { type: "boolean", description: "Overwrite the output file if it exists" },
  },
  async run({ args }) {
    // No config is loaded: the file this command writes is the config.
    const log = createLogger(args["log-level"] ?? "info");
    try {
      process.exitCode = importFile(args, log);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      log.error(e.message);
      process.exitCode = e.exitCode;
    }
  },
});

function importFile(args: { file: string; output: string; port?: string; force?: boolean }, log: Logger): number {
  let text: string;
  try {
    text = readFileSync(args.file, "utf8");
  } catch (e) {
    throw new UserError(`${args.file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  const port = asNumber(args.port);
  if (port !== undefined && typeof port !== "number") throw new UserError(`--port must be a port number, got "${args.port}"`);
  let result;
  try {
    result = importOldConfig(text, { port, source: args.file });
  } catch (e) {
    if (e instanceof IniError) throw new UserError(`${args.file}: ${e.message}`);
    throw e;
  }
  const out = args.output;
  if (existsSync(out) && !args.force) throw new UserError(`${out} exists: choose another --output or add --force`);
  // Written beside the target, checked by pmon's own loader, then moved into place; 0600: it holds the MySQL password.
  const tmp = `${out}.import-${process.pid}`;
  writeFileSync(tmp, result.toml, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  try {
    loadConfig(tmp, { env: {} });
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof ConfigError) throw new UserError(`the imported settings are not valid for pmon: ${e.message.replace(tmp, out)}`);
    throw e;
  }
  renameSync(tmp, out);
  const lines = ["mapped:", ...result.mapped.map((m) => `  ${m.from} = ${m.old}  ->  ${m.to} = ${m.value}`)];
  if (result.unmapped.length) lines.push("not mapped:", ...result.unmapped.map((u) => `  ${u.from}: ${u.why}`));
  stdout().write(lines.join("\n") + "\n");
  log.withTag("import").info(`wrote ${out} (mode 0600: it holds the database password)`);
  return 0;
}

