import type { HostOutcome } from "../protocol/api.ts";
import { renderTable } from "./table.ts";

/** The summary table `pmon enroll` and `pmon remove` print: one line per host. */
export function renderOutcomes(outcomes: readonly HostOutcome[], colour: boolean): string {
  return renderTable(
    [
      { title: "HOST", text: (o: HostOutcome) => o.rshost },
      { title: "RESULT", text: (o: HostOutcome) => o.state, colour: (o: HostOutcome) => (o.ok ? "green" : "red") },
      { title: "DETAIL", text: (o: HostOutcome) => o.detail },
    ],
    outcomes,
    { colour },
  );
}
