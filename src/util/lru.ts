// A map with a size cap and a lifetime per entry: the least recently used entry goes first when full.
// Used where the keys come from the network (host names in requests), so they can never grow memory.

export class LruCache<K, V> {
  private readonly map = new Map<K, { value: V; until: number }>();

  constructor(private readonly cap: number) {
    if (!(cap >= 1)) throw new Error(`LruCache cap must be at least 1, got ${cap}`);
  }

  /** The value if present and not expired at `nowMs`; a hit becomes the most recently used. */
  get(key: K, nowMs: number): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    if (hit.until <= nowMs) return undefined;
    this.map.set(key, hit);
    return hit.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V, untilMs: number): void {
    this.map.delete(key);
    // a Map iterates in insertion order: the first key is the least recently used
    while (this.map.size >= this.cap) this.map.delete(this.map.keys().next().value as K);
    this.map.set(key, { value, until: untilMs });
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}
