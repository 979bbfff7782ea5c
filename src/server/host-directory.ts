// Who may write, held in memory: every host's auth row, reloaded from the store every few seconds.
// A report from a known host then costs no store query, and neither does one naming a host that does
// not exist (a flood of random names). A name missing from the directory is looked up in the store only
// within a small budget per second, because the host may have been enrolled since the last load; beyond
// the budget the request gets a 503, which agents retry, never a wrong "unknown host".
import type { KeyObject } from "node:crypto";
import type { HostAuth } from "./auth.ts";
import { HttpError } from "./errors.ts";

/** Store lookups per second, all together, for names not in the directory (and for re-keyed hosts). */
export const MISS_LOOKUPS_PER_S = 20;

/** A host's auth row, with its public key once parsed (parsing costs more than the lookup). */
export type HostEntry = HostAuth & { publicKey?: KeyObject };

export interface HostDirectoryDeps {
  /** every host's auth row, by name */
  loadAll(): Promise<Map<string, HostAuth>>;
  /** one host's auth row, or undefined when not enrolled */
  loadOne(host: string): Promise<HostAuth | undefined>;
  /** how old the directory may get; 0 = no directory, every lookup asks the store */
  maxAgeMs: number;
  now(): number;
  /** a reload failed; the previous directory keeps answering */
  onLoadError(e: Error): void;
}

export class HostDirectory {
  private hosts: Map<string, HostEntry> | undefined;
  private loadedAt = 0;
  private loading: Promise<void> | undefined;
  private tokens = MISS_LOOKUPS_PER_S;
  private tokensAt = 0;

  constructor(private readonly deps: HostDirectoryDeps) {}

  /** The host's auth row, or undefined when the store says it is not enrolled. */
  async lookup(host: string): Promise<HostEntry | undefined> {
    if (this.deps.maxAgeMs <= 0) return this.deps.loadOne(host);
    await this.keepFresh();
    const known = this.hosts?.get(host);
    if (known) return known;
    if (!this.takeToken()) {
      throw new HttpError(503, "busy", `host "${host}" is not among the enrolled hosts loaded ${Math.round((this.deps.now() - this.loadedAt) / 1000)} s ago, and too many unknown names are being looked up right now; try again`);
    }
    const row = await this.deps.loadOne(host);
    if (row) this.hosts?.set(host, row);
    return row;
  }

  /**
   * A signature did not verify: the host may have been enrolled again since the directory was loaded.
   * Returns its fresh row if the store has a different key (within the lookup budget), else undefined.
   */
  async recheck(host: string, stale: HostAuth): Promise<HostEntry | undefined> {
    // without a directory the row has just come from the store
    if (this.deps.maxAgeMs <= 0 || !this.takeToken()) return undefined;
    const row = await this.deps.loadOne(host);
    if (!row || row.secret_hash === stale.secret_hash) return undefined;
    this.hosts?.set(host, row);
    return row;
  }

  /** Loads the directory when it is too old. Only the first load is waited for; later ones run while the old one answers. */
  private async keepFresh(): Promise<void> {
    if (this.hosts && this.deps.now() - this.loadedAt < this.deps.maxAgeMs) return;
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    if (!this.hosts) await this.loading;
  }

  private async load(): Promise<void> {
    let rows: Map<string, HostAuth>;
    try {
      rows = await this.deps.loadAll();
    } catch (e) {
      // With no directory yet the request fails (503 when the store is down); otherwise the old one serves.
      if (!this.hosts) throw e;
      this.loadedAt = this.deps.now();
      this.deps.onLoadError(e as Error);
      return;
    }
    const next = new Map<string, HostEntry>();
    for (const [host, row] of rows) {
      const old = this.hosts?.get(host);
      next.set(host, old?.publicKey && old.secret_hash === row.secret_hash ? { ...row, publicKey: old.publicKey } : row);
    }
    this.hosts = next;
    this.loadedAt = this.deps.now();
  }

  private takeToken(): boolean {
    const t = this.deps.now();
    this.tokens = Math.min(MISS_LOOKUPS_PER_S, this.tokens + (Math.max(0, t - this.tokensAt) / 1000) * MISS_LOOKUPS_PER_S);
    this.tokensAt = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.hosts?.size ?? 0;
  }
}
