import type { CacheGetOptions, CacheStatus, TokenCache } from './cache/token-cache.ts';
import { auditFacts } from './deadline.ts';
import type { ExchangeRequest } from './oauth/token-exchanger.ts';
import type { GatewayMetrics } from './observability/metrics.ts';
import type { AuthorizedRequest, CallerPolicy } from './policy/caller-policy.ts';

export interface IssuedToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresIn: number;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
  /** Empty when nothing was granted (the HTTP answer then omits it). */
  readonly scope: string;
  /** What the cache did: `hit`, `miss`, `refresh`, `stale` or `collapsed`. */
  readonly cache: CacheStatus;
}

export interface TokenBrokerDependencies {
  readonly policy: Pick<CallerPolicy, 'authorizeGrantedScope' | 'allowsGrantedScope'>;
  readonly cache: Pick<TokenCache, 'get' | 'invalidate'>;
  readonly metrics: GatewayMetrics;
  readonly now?: () => number;
}

/**
 * The use case: a token for a request the caller policy allowed (`CallerPolicy.authorize`), answered
 * from the cache or exchanged. The HTTP handlers identify the caller and have the policy decide, once per
 * request, inside the request's one audit (lib/audited.ts); the broker reports what it learns (cache
 * outcome, subject sent) into the request's audit facts (lib/deadline.ts). Nothing is signed and the
 * authorization server sees nothing unless the policy allowed the request.
 */
export class TokenBroker {
  private readonly now: () => number;

  constructor(private readonly deps: TokenBrokerDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /** A token for the user the authorized request names (or an application token). */
  async getToken(
    { caller, request }: AuthorizedRequest<ExchangeRequest>,
    options: Pick<CacheGetOptions, 'replaceOlderThanMs' | 'clientCaches'> = {},
  ): Promise<IssuedToken> {
    const facts = auditFacts();
    // Authorized, so a configured target: a bounded metric dimension.
    this.deps.metrics.target(request.target);
    facts.cache = 'miss';
    const started = this.now();
    const storable = (token: { scope: string }): boolean =>
      this.deps.policy.allowsGrantedScope(caller, request, token.scope);
    const result = await this.deps.cache.get(request, { ...options, storable });
    facts.cache = result.cache;
    facts.mappedSubject = result.mappedSubject;
    if (result.exchange) this.deps.metrics.authorizationServerLatency(this.now() - started);
    // After the audit facts are recorded: a refused grant is audited with the assertion that was sent.
    this.deps.policy.authorizeGrantedScope(caller, request, result.token.scope);
    this.deps.metrics.cacheResult(result.cache);
    // Rounded, so a token fresh from the server reports the server's own expires_in.
    const now = this.now();
    const expiresIn = Math.max(0, Math.round((result.token.expiresAt - now) / 1000));
    return {
      accessToken: result.token.accessToken,
      tokenType: tokenTypeName(result.token.tokenType),
      expiresIn,
      expiresAt: Math.floor(now / 1000) + expiresIn,
      scope: result.token.scope,
      cache: result.cache,
    };
  }

  /**
   * Drops the cached token an API refused, if it is still the cached one: the request is authorized
   * like a token request, so a caller can only invalidate tokens it could have obtained.
   */
  async invalidateToken(
    { request }: AuthorizedRequest<ExchangeRequest>,
    accessToken: string,
  ): Promise<{ invalidated: boolean }> {
    return { invalidated: await this.deps.cache.invalidate(request, accessToken) };
  }
}

/** oauth4webapi lower-cases token_type; callers put it in an Authorization header, so restore the case. */
function tokenTypeName(type: string): string {
  return ({ bearer: 'Bearer', dpop: 'DPoP', n_a: 'N_A' } as Record<string, string>)[type] ?? type;
}
