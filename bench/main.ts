// `make bench`: runs every bench/*.ts except this one, one after another, each in its own Bun process.
// `bun run bench/main.ts collect network` runs only the named ones.
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";

const only = process.argv.slice(2);
const benches = readdirSync(import.meta.dir)
  .filter((f) => f.endsWith(".ts") && f !== basename(import.meta.path))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.ts$/, "")))
  .sort();
if (benches.length === 0) {
  console.error(`no bench matches ${only.join(", ")}`);
  process.exit(2);
}

const failed: string[] = [];
for (const file of benches) {
  console.log(`\n=== bench/${file} ===`);
  const started = performance.now();
  const p = Bun.spawn([process.execPath, "run", join(import.meta.dir, file)], { stdio: ["inherit", "inherit", "inherit"] });
  const code = await p.exited;
  console.log(`=== bench/${file}: ${code === 0 ? "done" : `FAILED (exit ${code})`} in ${((performance.now() - started) / 1000).toFixed(1)} s ===`);
  if (code !== 0) failed.push(file);
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(", ")}`);
  process.exit(1);
}
