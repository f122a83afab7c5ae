import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { AuthorizationServerError } from '../errors.ts';
import type { ExchangeRequest, ExchangeResult, TokenExchanger } from '../oauth/token-exchanger.ts';
import type { CachedRefusal, CachedToken, CacheEntry } from './cache-entry.ts';
import { cacheKey, tokenHash } from './cache-key.ts';
import type { MemoryTokenStore } from './memory-token-store.ts';
import type { TokenStore } from './token-store.ts';

export type CacheStatus = 'hit' | 'miss' | 'refresh' | 'stale' | 'replace';

export interface TokenCacheSettings {
  /** A token is served only while it has more than this left. */
  readonly minRemainingSeconds: number;
  /** Inside this window before expiry a request refreshes the token (plus this instance's jitter). */
  readonly refreshAheadSeconds: number;
  /** Up to this much is added to the window per instance, so instances do not all refresh at once. */
  readonly refreshJitterSeconds: number;
  /** How long an `invalid_grant` is remembered for a key. */
  readonly negativeTtlSeconds: number;
  /** Lifetime assumed when neither `expires_in` nor a JWT `exp` says. */
  readonly defaultLifetimeSeconds: number;
  /** How long a cross-instance exchange lease lasts, and how long others wait for its holder. */
  readonly leaseTtlMs: number;
  readonly leaseWaitMs: number;
  readonly leasePollMs: number;
  /**
   * With a shared layer, memory answers alone for this long; then the shared item is read again, so a
   * token invalidated through another instance stops being served here too.
   */
  readonly localMaxAgeSeconds: number;
}

export const DEFAULT_CACHE_SETTINGS: TokenCacheSettings = {
  minRemainingSeconds: 30,
  refreshAheadSeconds: 120,
  refreshJitterSeconds: 30,
  negativeTtlSeconds: 30,
  defaultLifetimeSeconds: 300,
  leaseTtlMs: 5_000,
  leaseWaitMs: 2_000,
  leasePollMs: 50,
  localMaxAgeSeconds: 60,
};

export interface TokenCacheObserver {
  /** A shared-layer operation failed; the request went on without it. */
  degraded(operation: string, error: unknown): void;
  /** The token could not be refreshed; the still-valid one was served. */
  servedStale(error: unknown): void;
}

export interface TokenCacheDependencies {
  readonly exchanger: Pick<TokenExchanger, 'exchange' | 'refresh' | 'cacheIdentity'>;
  /** Per-container memory. */
  readonly local: MemoryTokenStore;
  /** Shared by all instances (DynamoDB); absent on the embedded defaults. */
  readonly shared?: TokenStore | undefined;
  readonly settings?: Partial<TokenCacheSettings>;
  readonly observer?: TokenCacheObserver;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface CachedTokenResult {
  readonly token: CachedToken;
  readonly cache: CacheStatus;
  readonly mappedSubject: string;
  /** Present when this request's flight exchanged (for the audit: assertion jti and aud). */
  readonly exchange?: ExchangeResult | undefined;
}

export interface CacheGetOptions {
  /**
   * The caller caches tokens itself, so asking again for a token it already holds means an API refused
   * it: a cached token obtained at least this long ago is replaced by a new one instead of being served.
   * A younger one is served, so a caller gets at most one new token per key per this interval.
   */
  readonly replaceOlderThanMs?: number | undefined;
}

interface Flight {
  readonly token: CachedToken;
  readonly cache: CacheStatus;
  readonly exchange?: ExchangeResult | undefined;
}

const noObserver: TokenCacheObserver = { degraded: () => undefined, servedStale: () => undefined };

/**
 * Two-layer token cache in front of the exchanger. Fresh tokens are served from memory, then from the
 * shared table; concurrent misses in a container share one flight, and across containers a lease lets
 * one instance exchange while the others wait and re-read. Tokens are refreshed ahead of expiry; a failed
 * refresh serves the still-valid token (stale-if-error); `invalid_grant` is remembered briefly. The
 * shared layer is optional at every step: its failures only cost an exchange.
 */
export class TokenCache {
  private readonly settings: TokenCacheSettings;
  private readonly flights = new Map<string, Promise<Flight>>();
  private readonly refreshAheadMs: number;
  private readonly observer: TokenCacheObserver;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly instance = randomUUID();

  constructor(private readonly deps: TokenCacheDependencies) {
    this.settings = { ...DEFAULT_CACHE_SETTINGS, ...deps.settings };
    this.observer = deps.observer ?? noObserver;
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => sleep(ms));
    const jitter = (deps.random ?? Math.random)() * this.settings.refreshJitterSeconds;
    this.refreshAheadMs = (this.settings.refreshAheadSeconds + jitter) * 1000;
  }

  async get(request: ExchangeRequest, options: CacheGetOptions = {}): Promise<CachedTokenResult> {
    const identity = this.deps.exchanger.cacheIdentity(request);
    const key = cacheKey(identity);
    const local = await this.deps.local.get(key);
    const replaceAfter = options.replaceOlderThanMs;
    if (
      local &&
      this.answersAlone(local) &&
      !this.replaces(local, replaceAfter) &&
      this.confirmedRecently(key)
    ) {
      return { ...this.serve(local), mappedSubject: identity.subject };
    }
    // Replacing requests fly apart from ordinary ones: joining an ordinary flight could hand back the
    // very token the API refused. Concurrent replacements of one key share one flight.
    const flightKey = replaceAfter === undefined ? key : `${key}/replace`;
    let flight = this.flights.get(flightKey);
    const leader = !flight;
    if (!flight) {
      flight = this.fly(key, request, local, replaceAfter).finally(() => this.flights.delete(flightKey));
      this.flights.set(flightKey, flight);
    }
    const { token, cache, exchange } = await flight;
    // Only the request that started the flight reports its exchange: the others did not sign anything.
    return { token, cache, mappedSubject: identity.subject, exchange: leader ? exchange : undefined };
  }

  /**
   * Removes the cached token for a request, but only if it is the token the caller presents (compared
   * by hash), so a late 401 for an old token cannot purge a fresh one again and again.
   */
  async invalidate(request: ExchangeRequest, accessToken: string): Promise<boolean> {
    const key = cacheKey(this.deps.exchanger.cacheIdentity(request));
    const hash = tokenHash(accessToken);
    const local = await this.deps.local.delete(key, hash);
    const shared = await this.shared('DeleteItem', (store) => store.delete(key, hash));
    return local || shared === true;
  }

  /**
   * Served without a flight: a remembered refusal, or a token before its refresh window. The window is
   * at most half the token's life, so a 90-second token is still cached for 45 seconds, and never less
   * than the minimum remaining lifetime.
   */
  private answersAlone(entry: CacheEntry): boolean {
    if (entry.kind === 'refusal') return true;
    const window = Math.max(
      this.minRemainingMs,
      Math.min(this.refreshAheadMs, (entry.expiresAt - entry.obtainedAt) / 2),
    );
    return entry.expiresAt - this.now() > window;
  }

  /** Memory alone suffices without a shared layer, or while the shared item was seen recently. */
  private confirmedRecently(key: string): boolean {
    return !this.deps.shared || this.deps.local.ageMs(key) < this.settings.localMaxAgeSeconds * 1000;
  }

  private serve(entry: CacheEntry): Flight {
    if (entry.kind === 'refusal') throw refusalError(entry);
    return { token: entry, cache: 'hit' };
  }

  /** A token the caller already holds, old enough to be replaced (see CacheGetOptions). */
  private replaces(entry: CacheEntry, replaceOlderThanMs: number | undefined): boolean {
    return (
      replaceOlderThanMs !== undefined &&
      entry.kind === 'token' &&
      this.now() - entry.obtainedAt >= replaceOlderThanMs
    );
  }

  private async fly(
    key: string,
    request: ExchangeRequest,
    local: CacheEntry | undefined,
    replaceOlderThanMs?: number,
  ): Promise<Flight> {
    const shared = await this.shared('GetItem', (store) => store.get(key));
    // When the shared layer answers, it is the truth: what it holds (memory may hold a token invalidated
    // elsewhere), or nothing. When it failed (null), memory is all there is, and it is trusted for another
    // localMaxAgeSeconds rather than asking the failing table on every request.
    const entry = shared === null ? local : shared;
    if (entry) await this.deps.local.put(key, entry);
    if (entry?.kind === 'token' && this.replaces(entry, replaceOlderThanMs)) {
      // Another instance replacing it at the same time holds the lease; obtain waits for its newer token.
      return { ...(await this.obtain(key, request, entry)), cache: 'replace' };
    }
    if (entry && this.answersAlone(entry)) return this.serve(entry);
    // A token too close to expiry is not served, but its refresh token may renew it without a signature.
    const previous = entry?.kind === 'token' ? entry : undefined;
    const current = previous && previous.expiresAt - this.now() > this.minRemainingMs ? previous : undefined;
    if (!current) return { ...(await this.obtain(key, request, previous)), cache: 'miss' };
    try {
      return { ...(await this.obtain(key, request, current)), cache: 'refresh' };
    } catch (error) {
      // The server refusing this user is a decision, not an outage: no stale token after it.
      if (error instanceof AuthorizationServerError && error.error === 'invalid_grant') throw error;
      this.observer.servedStale(error);
      return { token: current, cache: 'stale' };
    }
  }

  /** Exchanges, or waits for the instance holding the lease to do it. */
  private async obtain(
    key: string,
    request: ExchangeRequest,
    previous: CachedToken | undefined,
  ): Promise<Omit<Flight, 'cache'>> {
    const holder = `${this.instance}/${randomUUID()}`;
    const leased = await this.shared('PutItem (lease)', (store) =>
      store.acquireLease(key, holder, this.settings.leaseTtlMs),
    );
    if (leased === false) {
      const awaited = await this.awaitHolder(key, previous, request.deadline);
      if (awaited) return { token: awaited };
    }
    try {
      return await this.exchangeAndStore(key, request, previous);
    } finally {
      if (leased === true)
        await this.shared('DeleteItem (lease)', (store) => store.releaseLease(key, holder));
    }
  }

  /** Polls the shared layer for the token another instance is fetching; undefined if it never comes. */
  private async awaitHolder(
    key: string,
    previous: CachedToken | undefined,
    requestDeadline = Number.POSITIVE_INFINITY,
  ): Promise<CachedToken | undefined> {
    // Leave half of what remains for an exchange of our own, should the holder not finish.
    const remaining = requestDeadline - Date.now();
    const deadline = this.now() + Math.min(this.settings.leaseWaitMs, remaining / 2);
    while (this.now() < deadline) {
      await this.sleep(this.settings.leasePollMs);
      const entry = await this.shared('GetItem', (store) => store.get(key));
      if (entry === undefined) continue;
      if (entry === null) return undefined; // the shared layer failed: stop waiting on it
      if (entry.kind === 'refusal') {
        await this.deps.local.put(key, entry);
        throw refusalError(entry);
      }
      const newer = entry.obtainedAt > (previous?.obtainedAt ?? 0);
      if (newer && entry.expiresAt - this.now() > this.minRemainingMs) {
        await this.deps.local.put(key, entry);
        return entry;
      }
    }
    return undefined;
  }

  private async exchangeAndStore(
    key: string,
    request: ExchangeRequest,
    previous: CachedToken | undefined,
  ): Promise<Omit<Flight, 'cache'>> {
    let result: ExchangeResult;
    try {
      result =
        (previous?.refreshToken &&
          (await this.tryRefresh(request, { refreshToken: previous.refreshToken, scope: previous.scope }))) ||
        (await this.deps.exchanger.exchange(request));
    } catch (error) {
      if (error instanceof AuthorizationServerError && error.error === 'invalid_grant') {
        await this.store(key, {
          kind: 'refusal',
          error: error.error,
          errorDescription: error.errorDescription,
          status: error.status,
          expiresAt: this.now() + this.settings.negativeTtlSeconds * 1000,
        });
      }
      throw error;
    }
    const token = this.toCachedToken(result);
    if (token.expiresAt - this.now() > this.minRemainingMs) await this.store(key, token);
    return { token, exchange: result };
  }

  /**
   * A refresh token the server refuses (expired, revoked) is replaced by a new assertion. An outage is
   * not: asking the same unavailable server twice would only double the wait.
   */
  private async tryRefresh(
    request: ExchangeRequest,
    previous: { refreshToken: string; scope: string },
  ): Promise<ExchangeResult | undefined> {
    try {
      return await this.deps.exchanger.refresh(request, previous);
    } catch (error) {
      if (error instanceof AuthorizationServerError) return undefined;
      throw error;
    }
  }

  private async store(key: string, entry: CacheEntry): Promise<void> {
    await this.deps.local.put(key, entry);
    await this.shared('PutItem', (store) => store.put(key, entry));
  }

  /**
   * Runs an operation on the shared layer. Resolves `null` when there is none or it failed (the failure is
   * reported and the request goes on without it): the cache never fails a request.
   */
  private async shared<T>(operation: string, run: (store: TokenStore) => Promise<T>): Promise<T | null> {
    if (!this.deps.shared) return null;
    try {
      return await run(this.deps.shared);
    } catch (error) {
      this.observer.degraded(operation, error);
      return null;
    }
  }

  private toCachedToken(result: ExchangeResult): CachedToken {
    const now = this.now();
    return {
      kind: 'token',
      accessToken: result.token.accessToken,
      tokenType: result.token.tokenType,
      scope: result.token.scope ?? '',
      refreshToken: result.token.refreshToken,
      expiresAt: now + this.lifetimeSeconds(result) * 1000,
      obtainedAt: now,
    };
  }

  /** `expires_in`, else the token's own JWT `exp`, else the configured default. */
  private lifetimeSeconds(result: ExchangeResult): number {
    if (result.token.expiresIn !== undefined) return result.token.expiresIn;
    try {
      const { exp } = decodeJwt(result.token.accessToken);
      if (typeof exp === 'number') return Math.max(0, exp - Math.floor(this.now() / 1000));
    } catch {
      // Opaque token.
    }
    return this.settings.defaultLifetimeSeconds;
  }

  private get minRemainingMs(): number {
    return this.settings.minRemainingSeconds * 1000;
  }
}

function refusalError(entry: CachedRefusal): AuthorizationServerError {
  return new AuthorizationServerError(entry.error, entry.errorDescription, entry.status, { fromCache: true });
}
