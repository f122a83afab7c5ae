import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { auditFacts } from '../deadline.ts';
import { AuthorizationServerError, GatewayError } from '../errors.ts';
import type { ExchangeRequest, ExchangeResult, TokenExchanger } from '../oauth/token-exchanger.ts';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../oauth/token-response.ts';
import type { CachedRefusal, CachedToken, CacheEntry } from './cache-entry.ts';
import { cacheKey, tokenHash } from './cache-key.ts';
import { type ClientCaching, clientKeeps } from './client-caching.ts';
import type { MemoryTokenStore } from './memory-token-store.ts';
import type { TokenStore } from './token-store.ts';

/**
 * What the cache did for a request: served a cached token (`hit`), obtained one (`miss`), renewed one
 * near expiry (`refresh`), served one whose renewal failed (`stale`), replaced one the caller already
 * holds (`replace`, see CacheGetOptions), or waited while another instance obtained it and served that
 * (`collapsed`: this request caused no exchange).
 */
export type CacheStatus = 'hit' | 'miss' | 'refresh' | 'stale' | 'replace' | 'collapsed';

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

const DEFAULT_CACHE_SETTINGS: TokenCacheSettings = {
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
  /**
   * Which tokens the caller keeps (IBM's rule for z/OS Connect, see client-caching.ts): only those are
   * replaced. Asking again for one it does not keep is how it always asks, so that token is served
   * until its refresh window: one exchange per token lifetime. Default `any`.
   */
  readonly clientCaches?: ClientCaching | undefined;
  /**
   * Whether a token obtained by this request may be cached: the broker passes the caller policy's
   * granted-scope check, so a token the policy refuses is never kept (it would be refused from the cache
   * for its whole life, even after the server is fixed, and a caller cannot DELETE a token it never
   * received).
   */
  readonly storable?: ((token: CachedToken) => boolean) | undefined;
}

/** When a request replaces the cached token instead of being served it. */
interface Replacing {
  readonly olderThanMs: number | undefined;
  readonly clientCaches: ClientCaching;
}

interface Flight {
  readonly token: CachedToken;
  readonly cache: CacheStatus;
  readonly exchange?: ExchangeResult | undefined;
}

/** What obtaining a token gave: the token and, if this flight did not exchange itself, `collapsed`. */
interface Obtained {
  readonly token: CachedToken;
  readonly exchange?: ExchangeResult | undefined;
  readonly collapsed?: boolean;
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
  private readonly tombstones = new Tombstones();

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
    const replacing = { olderThanMs: replaceAfter, clientCaches: options.clientCaches ?? 'any' } as const;
    const storable = options.storable ?? (() => true);
    const withSubject = (error: unknown): never => {
      // A refusal names the user it was for in the request's audit, also when this request sent nothing
      // (a remembered refusal, or another request's flight); a remembered one is the cache's answer.
      if (error instanceof AuthorizationServerError) {
        const facts = auditFacts();
        // An assertion's subject is the identity's (a grant without one has '': nothing was mapped).
        if (error.fromCache || identity.subject !== '') facts.mappedSubject = identity.subject;
        if (error.fromCache) facts.cache = 'hit';
      }
      throw error;
    };
    if (
      local &&
      this.answersAlone(local) &&
      !this.replaces(local, replacing) &&
      this.confirmedRecently(key)
    ) {
      try {
        return { ...this.serve(local), mappedSubject: identity.subject };
      } catch (error) {
        withSubject(error);
      }
    }
    // Replacing requests fly apart from ordinary ones: joining an ordinary flight could hand back the
    // very token the API refused. Concurrent replacements of one key share one flight.
    const flightKey = replaceAfter === undefined ? key : `${key}/replace`;
    let flight = this.flights.get(flightKey);
    const leader = !flight;
    if (!flight) {
      flight = this.fly(key, request, local, storable, replacing).finally(() =>
        this.flights.delete(flightKey),
      );
      this.flights.set(flightKey, flight);
    }
    const { token, cache, exchange } = await flight.catch(withSubject);
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
    if (!this.deps.shared) return local;
    this.tombstones.add(key, hash, this.now() + MAX_TOKEN_LIFETIME_SECONDS * 1000);
    const shared = await this.shared('DeleteItem', (store) => store.delete(key, hash));
    if (shared === null) {
      // The shared item may survive, and other instances may serve it: "invalidated" would be untrue.
      // The tombstone keeps this instance from serving it, and deletes it once the table answers again.
      throw new GatewayError('ERR_CACHE_UNAVAILABLE', 'the shared token cache could not drop the token');
    }
    this.tombstones.delete(key);
    return local || shared;
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

  /** A token the caller already holds, keeps, and that is old enough to be replaced (see CacheGetOptions). */
  private replaces(entry: CacheEntry, replacing: Replacing): boolean {
    return (
      replacing.olderThanMs !== undefined &&
      entry.kind === 'token' &&
      this.now() - entry.obtainedAt >= replacing.olderThanMs &&
      clientKeeps(entry.accessToken, replacing.clientCaches)
    );
  }

  private async fly(
    key: string,
    request: ExchangeRequest,
    local: CacheEntry | undefined,
    storable: (token: CachedToken) => boolean,
    replacing: Replacing,
  ): Promise<Flight> {
    const shared = await this.withoutTombstoned(key, await this.shared('GetItem', (store) => store.get(key)));
    // When the shared layer answers, it is the truth: what it holds (memory may hold a token invalidated
    // elsewhere), or nothing. When it failed (null), memory is all there is, and it is trusted for another
    // localMaxAgeSeconds rather than asking the failing table on every request.
    const entry = shared === null ? local : shared;
    if (entry) await this.deps.local.put(key, entry);
    if (entry?.kind === 'token' && this.replaces(entry, replacing)) {
      // Another instance replacing it at the same time holds the lease; obtain waits for its newer token.
      // A replacement that fails (KMS or the server down) serves the cached token, as a failed refresh
      // does: the API may have refused it for a reason of its own, and a 503 would leave the caller nothing.
      return this.orStale(this.obtain(key, request, entry, storable), 'replace', this.stillValid(entry));
    }
    if (entry && this.answersAlone(entry)) return this.serve(entry);
    // A token too close to expiry is not served, but its refresh token may renew it without a signature.
    const previous = entry?.kind === 'token' ? entry : undefined;
    const current = this.stillValid(previous);
    if (!current) return flightOf(await this.obtain(key, request, previous, storable), 'miss');
    return this.orStale(this.obtain(key, request, current, storable), 'refresh', current);
  }

  /** The token, if it has more than the minimum remaining lifetime: it may still be served. */
  private stillValid(token: CachedToken | undefined): CachedToken | undefined {
    return token && token.expiresAt - this.now() > this.minRemainingMs ? token : undefined;
  }

  /** A new token, or (stale-if-error) the still-valid `current` one when obtaining it failed. */
  private async orStale(
    obtaining: Promise<Obtained>,
    cache: CacheStatus,
    current: CachedToken | undefined,
  ): Promise<Flight> {
    try {
      return flightOf(await obtaining, cache);
    } catch (error) {
      // The server refusing this user is a decision, not an outage: no stale token after it.
      if (!current || (error instanceof AuthorizationServerError && error.error === 'invalid_grant'))
        throw error;
      this.observer.servedStale(error);
      return { token: current, cache: 'stale' };
    }
  }

  /**
   * A shared entry holding a token this instance was told to drop while the table was unreachable is
   * deleted now, and read as `null` (nothing usable from the shared layer: memory, which no longer holds
   * the refused token, decides): the invalidation wins on recovery.
   */
  private async withoutTombstoned(
    key: string,
    entry: CacheEntry | undefined | null,
  ): Promise<CacheEntry | undefined | null> {
    const hash = this.tombstones.get(key, this.now());
    if (hash === undefined || entry?.kind !== 'token') return entry;
    if (tokenHash(entry.accessToken) !== hash) {
      this.tombstones.delete(key); // the table already holds another token: the refused one is gone
      return entry;
    }
    const deleted = await this.shared('DeleteItem', (store) => store.delete(key, hash));
    if (deleted !== null) this.tombstones.delete(key);
    return null;
  }

  /** Exchanges, or waits for the instance holding the lease to do it. */
  private async obtain(
    key: string,
    request: ExchangeRequest,
    previous: CachedToken | undefined,
    storable: (token: CachedToken) => boolean,
  ): Promise<Obtained> {
    const holder = `${this.instance}/${randomUUID()}`;
    let leased = await this.shared('PutItem (lease)', (store) =>
      store.acquireLease(key, holder, this.settings.leaseTtlMs),
    );
    if (leased === false) {
      const awaited = await this.awaitHolder(key, holder, previous, request.deadline);
      if (awaited === 'leased') leased = true;
      else if (awaited) return { token: awaited, collapsed: true };
    }
    try {
      return await this.exchangeAndStore(key, request, previous, storable);
    } finally {
      if (leased === true)
        await this.shared('DeleteItem (lease)', (store) => store.releaseLease(key, holder));
    }
  }

  /**
   * Polls the shared layer for the token another instance is fetching; undefined if it never comes.
   * When no token has come, the lease is tried again: a holder that gave up without one (refused by
   * admission, say, with a Retry-After its caller already has) has released it, and this request takes
   * over at once (`leased`) instead of waiting out `leaseWaitMs`.
   */
  private async awaitHolder(
    key: string,
    holder: string,
    previous: CachedToken | undefined,
    requestDeadline = Number.POSITIVE_INFINITY,
  ): Promise<CachedToken | 'leased' | undefined> {
    // Leave half of what remains for an exchange of our own, should the holder not finish.
    const remaining = requestDeadline - Date.now();
    const deadline = this.now() + Math.min(this.settings.leaseWaitMs, remaining / 2);
    while (this.now() < deadline) {
      await this.sleep(this.settings.leasePollMs);
      const entry = await this.withoutTombstoned(
        key,
        await this.shared('GetItem', (store) => store.get(key)),
      );
      if (entry === null) return undefined; // the shared layer failed: stop waiting on it
      if (entry === undefined) {
        if (await this.takeOverLease(key, holder)) return this.afterTakeOver(key, holder, previous);
        continue;
      }
      if (entry.kind === 'refusal') {
        await this.deps.local.put(key, entry);
        throw refusalError(entry);
      }
      const newer = entry.obtainedAt > (previous?.obtainedAt ?? 0);
      if (newer && entry.expiresAt - this.now() > this.minRemainingMs) {
        await this.deps.local.put(key, entry);
        return entry;
      }
      if (await this.takeOverLease(key, holder)) return this.afterTakeOver(key, holder, previous);
    }
    return undefined;
  }

  /**
   * The lease was free: its holder may have stored its token just before releasing it, so the item is
   * read once more; a token there is served (and the lease given back) rather than exchanged twice.
   */
  private async afterTakeOver(
    key: string,
    holder: string,
    previous: CachedToken | undefined,
  ): Promise<CachedToken | 'leased'> {
    const entry = await this.withoutTombstoned(key, await this.shared('GetItem', (store) => store.get(key)));
    const newer = entry?.kind === 'token' && entry.obtainedAt > (previous?.obtainedAt ?? 0);
    if (!newer || entry.expiresAt - this.now() <= this.minRemainingMs) return 'leased';
    await this.shared('DeleteItem (lease)', (store) => store.releaseLease(key, holder));
    await this.deps.local.put(key, entry);
    return entry;
  }

  private async takeOverLease(key: string, holder: string): Promise<boolean> {
    const leased = await this.shared('PutItem (lease)', (store) =>
      store.acquireLease(key, holder, this.settings.leaseTtlMs),
    );
    return leased === true;
  }

  private async exchangeAndStore(
    key: string,
    request: ExchangeRequest,
    previous: CachedToken | undefined,
    storable: (token: CachedToken) => boolean,
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
    if (token.expiresAt - this.now() > this.minRemainingMs && storable(token)) await this.store(key, token);
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
    const lifetime = this.lifetimeSeconds(result);
    // Never served: the caller could not use it (a server's expires_in of 0 is refused earlier).
    if (lifetime <= 0) throw new GatewayError('ERR_AS_RESPONSE_INVALID', 'the token has already expired');
    return {
      kind: 'token',
      accessToken: result.token.accessToken,
      tokenType: result.token.tokenType,
      scope: result.token.scope ?? '',
      refreshToken: result.token.refreshToken,
      expiresAt: now + lifetime * 1000,
      obtainedAt: now,
    };
  }

  /** `expires_in`, else the token's own JWT `exp`, else the configured default. */
  private lifetimeSeconds(result: ExchangeResult): number {
    if (result.token.expiresIn !== undefined) return result.token.expiresIn;
    try {
      const { exp } = decodeJwt(result.token.accessToken);
      if (typeof exp === 'number') {
        return Math.min(MAX_TOKEN_LIFETIME_SECONDS, Math.max(0, exp - Math.floor(this.now() / 1000)));
      }
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

/**
 * Tokens invalidated while the shared layer could not be reached, by cache key: the hash of the refused
 * token and until when it matters (no token is kept longer). Bounded: one entry per key, oldest dropped
 * first; losing one only means the token can come back, as it could before tombstones.
 */
class Tombstones {
  private readonly entries = new Map<string, { hash: string; until: number }>();

  constructor(private readonly maxEntries = 10_000) {}

  add(key: string, hash: string, until: number): void {
    this.entries.delete(key);
    this.entries.set(key, { hash, until });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  get(key: string, now: number): string | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.until <= now) this.entries.delete(key);
    return entry && entry.until > now ? entry.hash : undefined;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

function flightOf({ token, exchange, collapsed }: Obtained, status: CacheStatus): Flight {
  return { token, exchange, cache: collapsed ? 'collapsed' : status };
}
