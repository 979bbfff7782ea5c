import pkg from "../package.json" with { type: "json" };

// Replaced at build time by `bun build --define` (see Makefile); absent under `bun test`.
declare const PMON_VERSION: string | undefined;
declare const PMON_COMMIT: string | undefined;

export const VERSION: string = typeof PMON_VERSION === "string" && PMON_VERSION ? PMON_VERSION : pkg.version;
export const COMMIT: string = typeof PMON_COMMIT === "string" && PMON_COMMIT ? PMON_COMMIT : "dev";
