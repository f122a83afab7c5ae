/**
 * Runs `load` once and shares its promise, so concurrent first callers wait on one call (middy's habit:
 * cache the promise, not the value). A rejection is not kept: the next call runs `load` again.
 */
export function onceUntilFailure<T>(load: () => Promise<T>): () => Promise<T> {
  const once = new KeyedOnce<T>();
  return () => once.get('', load);
}

export interface KeyedOnceOptions {
  /** A value is loaded again once it is this old; by default it is kept (0: every call loads). */
  readonly maxAgeMs?: number;
  /** The oldest entries are dropped beyond this many. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/**
 * `onceUntilFailure` per key: one shared promise per key, forgotten when it rejects (or when it is older
 * than `maxAgeMs`, or pushed out by `maxEntries`), so a failure is retried by the next caller and never
 * served to it. Discovery (per issuer), the envelope cipher (per wrapped data key) and the Secrets
 * Manager store (per secret) all cache this way.
 */
export class KeyedOnce<T> {
  private readonly entries = new Map<string, { readonly value: Promise<T>; readonly loadedAt: number }>();
  private readonly now: () => number;

  constructor(private readonly options: KeyedOnceOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** The key's shared promise, started with `load` if there is none (or it is too old). */
  get(key: string, load: () => Promise<T>): Promise<T> {
    const existing = this.entries.get(key);
    if (existing && !this.expired(existing.loadedAt)) return existing.value;
    return this.set(key, load());
  }

  /** Makes `value` the key's shared promise (a value obtained some other way, say). */
  set(key: string, value: Promise<T>): Promise<T> {
    const entry = { value, loadedAt: this.now() };
    this.entries.delete(key); // re-inserted last: the map's order is the eviction order
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    const max = this.options.maxEntries ?? Number.POSITIVE_INFINITY;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= max) break;
      this.entries.delete(oldest);
    }
    return value;
  }

  private expired(loadedAt: number): boolean {
    return this.options.maxAgeMs !== undefined && this.now() - loadedAt >= this.options.maxAgeMs;
  }
}
