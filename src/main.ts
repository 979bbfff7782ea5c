import { reportInternalError } from "./cli/_internal-error.ts";
import { runCommand } from "./cli/run.ts";
import { writeOutputToFds } from "./util/output.ts";

writeOutputToFds();
// Failures outside a command's run (a loop's stray rejection) end like the ones inside it.
const argv = process.argv.slice(2);
process.on("uncaughtException", (e) => process.exit(reportInternalError(e, argv)));
process.on("unhandledRejection", (e) => process.exit(reportInternalError(e, argv)));

// no top-level await: the binary is built as CommonJS (see the Makefile)
void runCommand(argv).then((code) => {
  process.exitCode = code;
});
