// Many hosts at once, but never more than `limit` in flight (deploy.parallel), and a live line per
// host on stderr so an operator enrolling 200 hosts sees which one is doing what.

/** Runs fn over items with at most `limit` running; results keep the input order. fn must not throw. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

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
    this.write(`[${this.index.get(host)}/${this.total}] ${host}  ${text}  (${secs} s)`);
  }
}
