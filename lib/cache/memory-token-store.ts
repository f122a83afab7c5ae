import type { CacheEntry } from './cache-entry.ts';
import { tokenHash } from './cache-key.ts';
import type { TokenStore } from './token-store.ts';

/**
 * The per-container layer: a bounded LRU in memory (a Map keeps insertion order; a hit re-inserts).
 * Leases are trivially granted: single flight inside one container is the TokenCache's job.
 */
export class MemoryTokenStore implements TokenStore {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly storedAt = new Map<string, number>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** How long ago the entry was stored (or last confirmed by the shared layer); Infinity if absent. */
  ageMs(key: string): number {
    const stored = this.storedAt.get(key);
    return stored === undefined ? Number.POSITIVE_INFINITY : this.now() - stored;
  }

  async put(key: string, entry: CacheEntry): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.storedAt.set(key, this.now());
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
  }

  async delete(key: string, onlyIfAccessTokenHash?: string): Promise<boolean> {
    const entry = this.entries.get(key);
    if (!entry) return false;
    if (onlyIfAccessTokenHash !== undefined) {
      if (entry.kind !== 'token' || tokenHash(entry.accessToken) !== onlyIfAccessTokenHash) return false;
    }
    return this.remove(key);
  }

  private remove(key: string): boolean {
    this.storedAt.delete(key);
    return this.entries.delete(key);
  }

  async acquireLease(): Promise<boolean> {
    return true;
  }

  async releaseLease(): Promise<void> {}
}
