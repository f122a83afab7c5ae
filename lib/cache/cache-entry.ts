/** A token as the cache keeps it. Times are epoch milliseconds. */
export interface CachedToken {
  readonly kind: 'token';
  readonly accessToken: string;
  readonly tokenType: string;
  readonly scope: string;
  readonly expiresAt: number;
  readonly refreshToken?: string | undefined;
  /** When it was obtained: lets waiters tell a token fetched for them from an older one. */
  readonly obtainedAt: number;
}

/** An authorization server's `invalid_grant` for a key, remembered briefly (negative cache). */
export interface CachedRefusal {
  readonly kind: 'refusal';
  readonly error: string;
  readonly errorDescription?: string | undefined;
  readonly status: number;
  readonly expiresAt: number;
}

export type CacheEntry = CachedToken | CachedRefusal;
