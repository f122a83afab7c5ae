import { AuthorizationServerError } from './errors.ts';
import { toApiError } from './http/api-errors.ts';
import type { ExchangeRequest, ExchangeResult, TokenExchanger } from './oauth/token-exchanger.ts';
import type { GatewayMetrics } from './observability/metrics.ts';
import type { AuditLog } from './policy/audit.ts';
import type { Caller, CallerCredentials, CallerPolicy } from './policy/caller-policy.ts';

export interface IssuedToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresIn: number;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
  readonly scope: string;
}

export interface TokenBrokerDependencies {
  readonly policy: CallerPolicy;
  readonly exchanger: Pick<TokenExchanger, 'exchange'>;
  readonly audit: AuditLog;
  readonly metrics: GatewayMetrics;
  /** Lifetime assumed when the server sends no expires_in (RFC 6749 5.1 makes it optional). */
  readonly defaultTokenLifetimeSeconds?: number;
  readonly now?: () => number;
}

/**
 * The use case: a policy-checked request for a user's token. Identify the caller, check its allow-lists,
 * exchange, and audit the outcome whatever it was.
 */
export class TokenBroker {
  private readonly now: () => number;

  constructor(private readonly deps: TokenBrokerDependencies) {
    this.now = deps.now ?? Date.now;
  }

  async getToken(
    credentials: CallerCredentials,
    request: ExchangeRequest,
    requestId: string,
  ): Promise<IssuedToken> {
    const started = this.now();
    let caller: Caller | undefined;
    let result: ExchangeResult | undefined;
    let failure: unknown;
    try {
      caller = await this.deps.policy.identify(credentials);
      this.deps.policy.authorize(caller, request);
      const exchangeStarted = this.now();
      result = await this.deps.exchanger.exchange(request);
      this.deps.metrics.authorizationServerLatency(this.now() - exchangeStarted);
      return this.issued(result);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      const outcome = failure === undefined ? 'success' : toApiError(failure).code;
      this.deps.metrics.request(outcome);
      this.deps.audit.record({
        request_id: requestId,
        caller: caller?.id ?? null,
        caller_via: caller?.via ?? null,
        target: caller ? request.target : null,
        subject: caller ? request.subject : null,
        mapped_subject: result?.mappedSubject ?? null,
        assertion_jti: result?.assertion?.jti ?? null,
        assertion_aud: result?.assertion?.aud ?? null,
        outcome,
        upstream_error: failure instanceof AuthorizationServerError ? failure.error : null,
        cache: 'bypass',
        latency_ms: this.now() - started,
      });
    }
  }

  private issued(result: ExchangeResult): IssuedToken {
    const expiresIn = result.token.expiresIn ?? this.deps.defaultTokenLifetimeSeconds ?? 300;
    return {
      accessToken: result.token.accessToken,
      tokenType: tokenTypeName(result.token.tokenType),
      expiresIn,
      expiresAt: Math.floor(this.now() / 1000) + expiresIn,
      scope: result.token.scope ?? '',
    };
  }
}

/** oauth4webapi lower-cases token_type; callers put it in an Authorization header, so restore the case. */
function tokenTypeName(type: string): string {
  return ({ bearer: 'Bearer', dpop: 'DPoP', n_a: 'N_A' } as Record<string, string>)[type] ?? type;
}
