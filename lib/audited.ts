import { type AuditFacts, emptyAuditFacts, withDeadline } from './deadline.ts';
import { AuthorizationServerError, isGatewayError } from './errors.ts';
import type { GatewayMetrics } from './observability/metrics.ts';
import type { AuditEvent, AuditLog } from './policy/audit.ts';

interface AuditedDependencies {
  readonly audit: AuditLog;
  readonly metrics: GatewayMetrics;
  /** Names a failure for the audit log and metrics (the API error code); the GatewayError code by default. */
  readonly classify?: ((error: unknown) => string) | undefined;
  readonly now?: (() => number) | undefined;
}

interface RequestScope {
  readonly requestId: string;
  /** Epoch milliseconds; every call to something outside is bounded by it. */
  readonly deadline?: number | undefined;
  /** The target the request names (reported once the caller is identified). */
  readonly target?: string | undefined;
}

/** Runs one audited request: `run(facts)` under the request context, then the request's one event. */
export type Audited = <T>(
  action: AuditEvent['action'],
  scope: RequestScope,
  run: (facts: AuditFacts) => Promise<T>,
) => Promise<T>;

/**
 * The one audit of a request, for the token routes and proxy mode alike: `run` goes under the request's
 * deadline and audit facts (lib/deadline.ts), and whatever it ended with, exactly one event is recorded
 * and one request (or call) metric counted.
 */
export function auditedRequests(deps: AuditedDependencies): Audited {
  const now = deps.now ?? Date.now;
  const classify =
    deps.classify ?? ((error: unknown) => (isGatewayError(error) ? error.code : 'internal_error'));
  return async (action, scope, run) => {
    const facts = emptyAuditFacts();
    facts.target = scope.target;
    const started = now();
    let failure: unknown;
    try {
      return await withDeadline(scope.deadline ?? Number.POSITIVE_INFINITY, () => run(facts), facts);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      const result = failure === undefined ? 'success' : classify(failure);
      if (action === 'issue') deps.metrics.request(result);
      if (action === 'call') deps.metrics.call(result);
      const { caller } = facts;
      deps.audit.record({
        request_id: scope.requestId,
        action,
        caller: caller?.id ?? null,
        caller_via: caller?.via ?? null,
        // Only once the caller is known: an unknown caller's guesses are not the audit's facts.
        target: caller ? (facts.target ?? null) : null,
        subject: caller ? (facts.subject ?? null) : null,
        mapped_subject: facts.mappedSubject ?? null,
        assertion_jti: facts.assertion?.jti ?? null,
        assertion_aud: facts.assertion?.aud ?? null,
        outcome: result,
        upstream_error: failure instanceof AuthorizationServerError ? failure.error : null,
        cache: facts.cache,
        latency_ms: now() - started,
        ...(action === 'call'
          ? {
              api_request: facts.apiRequest ?? null,
              api_status: facts.apiStatus ?? null,
              token_retried: facts.tokenRetried,
              identity_token_jti: facts.identityTokenId ?? null,
            }
          : {}),
      });
    }
  };
}
