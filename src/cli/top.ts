import { defineCommand } from "citty";
import { stdout } from "../util/output.ts";
import { HOST_RE } from "../protocol/report.ts";
import { TOP_BY, type TopBy } from "../protocol/top.ts";
import { DEFAULT_LOOKBACK_MS, topAt, topRange } from "../store/history.ts";
import { sampleSpan } from "../store/sample-span.ts";
import { parseTime, TimeParseError } from "../util/time.ts";
import { emptyAnswer, renderTop } from "../view/top.ts";
import { commonArgs, runWithConfig, UserError, wantColour } from "./_shared.ts";
import { EXIT } from "./exit-codes.ts";
import { withStore } from "./status.ts";
import { terminalJson } from "../util/terminal.ts";

function time(flag: string, text: string, now: number): number {
  try {
    return parseTime(text, now);
  } catch (e) {
    if (e instanceof TimeParseError) throw new UserError(`--${flag}: ${e.message}`, EXIT.USAGE);
    throw e;
  }
}

export default defineCommand({
  meta: {
    name: "top",
    description: "Which processes used the most CPU, memory, disk IO or network at a moment (--at) or over a range (--from/--to), on one host or the whole fleet",
  },
  args: {
    ...commonArgs,
    host: { type: "string", description: "One host (default: every host)" },
    at: { type: "string", description: 'The moment: "now", "3h ago", "03:00" (the last one), "today 09:30", "yesterday 03:00", "2026-11-24 03:00" (local time), ISO 8601, epoch (default: now)' },
    from: { type: "string", description: "Start of a range (averages per process over it)" },
    to: { type: "string", description: "End of a range (default: now)" },
    by: { type: "string", description: "cpu | mem | io | net", default: "cpu" },
    limit: { type: "string", description: "Rows to print", default: "10" },
    json: { type: "boolean", description: "Print JSON for scripts" },
    utc: { type: "boolean", description: "Print times in UTC instead of the local time zone" },
    color: { type: "boolean", description: "Colour the table (default: when stdout is a terminal and NO_COLOR is unset)" },
  },
  async run({ args }) {
    await runWithConfig(args, {}, async ({ config }) => {
      const now = Date.now();
      const by = String(args.by) as TopBy;
      if (!TOP_BY.includes(by)) throw new UserError(`--by must be one of ${TOP_BY.join(", ")}, got "${args.by}"`, EXIT.USAGE);
      const limit = Number(args.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UserError(`--limit must be a whole number from 1 to 10000, got "${args.limit}"`, EXIT.USAGE);
      if (args.host !== undefined && !HOST_RE.test(args.host)) throw new UserError(`--host: not a valid host name or address: "${args.host}"`, EXIT.USAGE);
      if (args.at !== undefined && (args.from !== undefined || args.to !== undefined)) throw new UserError("use either --at or --from/--to, not both", EXIT.USAGE);
      if (args.to !== undefined && args.from === undefined) throw new UserError("--to needs --from", EXIT.USAGE);

      const query = { by, limit, host: args.host };
      const range = args.from === undefined ? undefined : { from: time("from", args.from, now), to: time("to", args.to ?? "now", now) };
      if (range && range.from >= range.to) throw new UserError("--from must be before --to", EXIT.USAGE);
      const at = time("at", args.at ?? "now", now);
      const [result, span] = await withStore(config.server, async (db) => {
        const r = range ? await topRange(db, { ...query, ...range }) : await topAt(db, { ...query, at });
        return [r, r.rows.length === 0 ? await sampleSpan(db, args.host) : undefined] as const;
      });
      const colour = args.color ?? wantColour();
      const window = range ?? { from: at - DEFAULT_LOOKBACK_MS, to: at };
      const view = { colour, utc: args.utc === true, window, span };
      stdout().write(args.json ? terminalJson(span ? { ...result, window, samples: span } : result) + "\n" : renderTop(result, view));
      // nothing found is bad news for a script: exit 1, and say why on stderr too when stdout is JSON
      if (result.rows.length === 0) {
        if (args.json) process.stderr.write(emptyAnswer(result, view) + "\n");
        return EXIT.BAD_NEWS;
      }
      return EXIT.OK;
    });
  },
});
