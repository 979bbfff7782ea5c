// A live line per host and step on stderr, so an operator enrolling 200 hosts sees which one is doing what.
import { escapeControls } from "../util/terminal.ts";

/** One progress line per host and step: "[2/3] 10.0.0.12  copying 105 MiB  (4.1 s)". */
export class ProgressLines {
  private readonly started = new Map<string, number>();
  constructor(
    private readonly write: (line: string) => void,
    private readonly total: number,
    private readonly now: () => number = Date.now,
  ) {}

  private index = new Map<string, number>();

  update(host: string, text: string): void {
    if (!this.started.has(host)) {
      this.started.set(host, this.now());
      this.index.set(host, this.index.size + 1);
    }
    const secs = ((this.now() - this.started.get(host)!) / 1000).toFixed(1);
    // the text may quote the host (ssh errors, its agent's log): never raw to the terminal
    this.write(`[${this.index.get(host)}/${this.total}] ${escapeControls(host)}  ${escapeControls(text)}  (${secs} s)`);
  }
}
