// Paths of the committed fixture trees (see test/fixtures/proc/README.md).
import { join } from "node:path";

export const FIXTURES = join(import.meta.dir, "../../fixtures");
export const PROC = join(FIXTURES, "proc");
export const PROC_NEXT = join(FIXTURES, "proc-next");
export const SYS = join(FIXTURES, "sys");
