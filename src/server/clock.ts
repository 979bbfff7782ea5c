// The server's clock decides "now"; agents whose clock is off by more than server.clock_warn_s are
// logged once (and again when they recover) and counted in /metrics.
import type { Logger } from "../log.ts";
import type { ServerMetrics } from "./metrics.ts";

export interface SkewTracker {
  /** skewMs = agent clock - server clock at arrival */
  observe(host: string, skewMs: number): void;
  readonly skewed: ReadonlySet<string>;
}

export function createSkewTracker(warnS: number, log: Logger, metrics: ServerMetrics): SkewTracker {
  const skewed = new Set<string>();
  return {
    observe(host, skewMs) {
      const off = Math.abs(skewMs) > warnS * 1000;
      if (off && !skewed.has(host)) {
        skewed.add(host);
        log.warn(`clock of ${host} is ${(skewMs / 1000).toFixed(1)} s ${skewMs > 0 ? "ahead of" : "behind"} the server (warn at ${warnS} s)`);
      } else if (!off && skewed.delete(host)) {
        log.info(`clock of ${host} is back within ${warnS} s of the server`);
      }
      metrics.clockSkewAgents.set(skewed.size);
    },
    skewed,
  };
}
