import type { CacheEntry } from './cache-entry.ts';

/**
 * The cache storage port: one layer of the cache (memory per container, DynamoDB shared). Keys are
 * `cacheKey()` hashes. Implementations must never return an entry stored under another key.
 */
export interface TokenStore {
  get(key: string): Promise<CacheEntry | undefined>;
  put(key: string, entry: CacheEntry): Promise<void>;
  /**
   * Deletes the entry; with `onlyIfAccessTokenHash`, only when the stored token is that one, so a late
   * 401 for an old token cannot purge a fresh one. Resolves whether something was deleted.
   */
  delete(key: string, onlyIfAccessTokenHash?: string): Promise<boolean>;
  /** Takes the exchange lease for a key unless another holder has an unexpired one. */
  acquireLease(key: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(key: string, holder: string): Promise<void>;
}
