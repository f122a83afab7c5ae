import type { CacheGetOptions, CacheStatus, TokenCache } from './cache/token-cache.ts';
import { withDeadline } from './deadline.ts';
import { AuthorizationServerError, isGatewayError } from './errors.ts';
import type { ExchangeRequest } from './oauth/token-exchanger.ts';
import type { GatewayMetrics } from './observability/metrics.ts';
import type { AuditEvent, AuditLog } from './policy/audit.ts';
import type { Caller, CallerCredentials, CallerPolicy } from './policy/caller-policy.ts';

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
  readonly policy: CallerPolicy;
  readonly cache: Pick<TokenCache, 'get' | 'invalidate'>;
  readonly audit: AuditLog;
  readonly metrics: GatewayMetrics;
  /** Names a failure for the audit log and metrics (the API error code); the GatewayError code by default. */
  readonly classify?: (error: unknown) => string;
  readonly now?: () => number;
}

/** What is known of a request before the caller is: its target (for the audit) and its deadline. */
export interface RequestScope {
  readonly target: string;
  /** Epoch milliseconds; every call to something outside is bounded by it. */
  readonly deadline?: number | undefined;
}

/** What a caller asks for, once it is known who the caller is (the facade reads grant parameters per caller). */
export interface PreparedTokenRequest extends CacheGetOptions {
  readonly request: ExchangeRequest;
}

interface Outcome {
  request?: ExchangeRequest;
  caller?: Caller;
  mappedSubject?: string;
  assertion?: { jti: string; aud: string };
  cache: AuditEvent['cache'];
}

/**
 * The use case: a policy-checked request for a user's token. Identify the caller, check its allow-lists,
 * answer from the cache or exchange, and audit the outcome whatever it was. Nothing is signed and the
 * authorization server sees nothing unless the policy allows the request.
 */
export class TokenBroker {
  private readonly now: () => number;
  private readonly classify: (error: unknown) => string;

  constructor(private readonly deps: TokenBrokerDependencies) {
    this.now = deps.now ?? Date.now;
    this.classify = deps.classify ?? ((error) => (isGatewayError(error) ? error.code : 'internal_error'));
  }

  /**
   * A token for the user the request names. `subjectProven`: the subject comes from a verified identity
   * token, not from the caller's word (a caller required to prove users is refused a named one).
   */
  async getToken(
    credentials: CallerCredentials,
    request: ExchangeRequest,
    requestId: string,
    options: {
      readonly subjectProven?: boolean;
      /** Replace a cached token obtained at least this long ago (see CacheGetOptions). */
      readonly replaceOlderThanMs?: number;
    } = {},
  ): Promise<IssuedToken> {
    return this.issue(credentials, request, requestId, (caller) => {
      if (request.subject !== '' && options.subjectProven !== true) {
        this.deps.policy.authorizeNamedSubject(caller);
      }
      return { request, replaceOlderThanMs: options.replaceOlderThanMs };
    });
  }

  /**
   * `getToken` for requests whose meaning depends on the caller (the RFC 6749 facade: its password
   * handling, identity tokens, caching-client replacement): `prepare` runs once the caller is known, and
   * its failures are audited like any refusal.
   */
  async issue(
    credentials: CallerCredentials,
    scope: RequestScope,
    requestId: string,
    prepare: (caller: Caller) => PreparedTokenRequest | Promise<PreparedTokenRequest>,
  ): Promise<IssuedToken> {
    return this.audited('issue', scope, requestId, async (outcome) => {
      outcome.caller = await this.deps.policy.identify(credentials);
      const { request, ...options } = await prepare(outcome.caller);
      outcome.request = request;
      this.deps.policy.authorize(outcome.caller, request);
      // Authorized, so a configured target: a bounded metric dimension.
      this.deps.metrics.target(request.target);
      outcome.cache = 'miss';
      const started = this.now();
      const caller = outcome.caller;
      const storable = (token: { scope: string }): boolean =>
        this.deps.policy.allowsGrantedScope(caller, request, token.scope);
      const result = await this.deps.cache.get(request, { ...options, storable }).catch((error: unknown) => {
        if (error instanceof AuthorizationServerError) {
          if (error.fromCache) outcome.cache = 'hit';
          outcome.mappedSubject = error.sent?.mappedSubject;
          outcome.assertion = error.sent?.assertion;
        }
        throw error;
      });
      outcome.cache = result.cache;
      outcome.mappedSubject = result.mappedSubject;
      if (result.exchange) {
        this.deps.metrics.authorizationServerLatency(this.now() - started);
        outcome.assertion = result.exchange.assertion;
      }
      // After the audit facts are recorded: a refused grant is audited with the assertion that was sent.
      this.deps.policy.authorizeGrantedScope(outcome.caller, request, result.token.scope);
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
    });
  }

  /**
   * Drops the cached token an API refused, if it is still the cached one: the same policy applies, so a
   * caller can only invalidate tokens it could have obtained.
   */
  async invalidateToken(
    credentials: CallerCredentials,
    request: ExchangeRequest,
    accessToken: string,
    requestId: string,
  ): Promise<{ invalidated: boolean }> {
    return this.audited('invalidate', request, requestId, async (outcome) => {
      outcome.request = request;
      outcome.caller = await this.deps.policy.identify(credentials);
      this.deps.policy.authorize(outcome.caller, request);
      return { invalidated: await this.deps.cache.invalidate(request, accessToken) };
    });
  }

  /**
   * Runs one use case under the request's deadline (every AWS call inside is bounded by it, see
   * lib/deadline.ts) and audits its outcome whatever it was.
   */
  private audited<T>(
    action: AuditEvent['action'],
    scope: RequestScope,
    requestId: string,
    run: (outcome: Outcome) => Promise<T>,
  ): Promise<T> {
    return withDeadline(scope.deadline ?? Number.POSITIVE_INFINITY, () =>
      this.auditedRun(action, scope.target, requestId, run),
    );
  }

  private async auditedRun<T>(
    action: AuditEvent['action'],
    target: string,
    requestId: string,
    run: (outcome: Outcome) => Promise<T>,
  ): Promise<T> {
    const started = this.now();
    const outcome: Outcome = { cache: 'bypass' };
    let failure: unknown;
    try {
      return await run(outcome);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      const result = failure === undefined ? 'success' : this.classify(failure);
      if (action === 'issue') this.deps.metrics.request(result);
      const { caller } = outcome;
      this.deps.audit.record({
        request_id: requestId,
        action,
        caller: caller?.id ?? null,
        caller_via: caller?.via ?? null,
        target: caller ? target : null,
        subject: caller ? (outcome.request?.subject ?? null) : null,
        mapped_subject: outcome.mappedSubject ?? null,
        assertion_jti: outcome.assertion?.jti ?? null,
        assertion_aud: outcome.assertion?.aud ?? null,
        outcome: result,
        upstream_error: failure instanceof AuthorizationServerError ? failure.error : null,
        cache: outcome.cache,
        latency_ms: this.now() - started,
      });
    }
  }
}

/** oauth4webapi lower-cases token_type; callers put it in an Authorization header, so restore the case. */
function tokenTypeName(type: string): string {
  return ({ bearer: 'Bearer', dpop: 'DPoP', n_a: 'N_A' } as Record<string, string>)[type] ?? type;
}
