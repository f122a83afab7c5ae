import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request context: the request's deadline (epoch milliseconds) and its audit facts, for the code
 * below the ports whose interfaces carry neither. The deadline bounds every call to something outside
 * (KMS, Secrets Manager, DynamoDB, the authorization server); the facts are what the request's one audit
 * event reports (lib/audited.ts), written where they become known (the exchanger knows the assertion it
 * sent, the cache whether it answered) instead of riding up on a thrown error or a returned object.
 * Where a deadline already travels explicitly (`ExchangeRequest.deadline`, the token endpoint's attempt
 * loop), it is the same number.
 */
interface RequestContext {
  readonly deadline: number;
  readonly facts: AuditFacts;
}

/** What the cache did for the request's token, as the audit reports it (`bypass`: no token was asked). */
export type CacheOutcome = 'hit' | 'miss' | 'refresh' | 'stale' | 'replace' | 'collapsed' | 'bypass';

/**
 * What the request's audit event reports, filled in as the request goes. Plain types only: this module
 * is below everything that writes here.
 */
export interface AuditFacts {
  /** Who called, once identified (a policy `Caller`). */
  caller?: { readonly id: string; readonly via: string };
  target?: string;
  /** The end user as the caller named (or an identity token proved) them. */
  subject?: string;
  /** The subject the assertion carried (or would have: a remembered refusal sends nothing). */
  mappedSubject?: string;
  /** The assertion sent to the authorization server, by `jti` and `aud` (never the JWT). */
  assertion?: { readonly jti: string; readonly aud: string };
  cache: CacheOutcome;
  /** Proxy mode: the API's method and normalised path, its last status, the token retry. */
  apiRequest?: string;
  apiStatus?: number;
  tokenRetried: boolean;
  /** Proxy mode: the verified identity token's jti (`''` without one), when the subject was proven. */
  identityTokenId?: string;
}

const requests = new AsyncLocalStorage<RequestContext>();

export function emptyAuditFacts(): AuditFacts {
  return { cache: 'bypass', tokenRetried: false };
}

/** Runs `work` as one request: everything it calls is bounded by `deadline` and reports into `facts`. */
export function withDeadline<T>(deadline: number, work: () => T, facts: AuditFacts = emptyAuditFacts()): T {
  return requests.run({ deadline, facts }, work);
}

/** The current request's deadline; `Infinity` outside a request (init, tests that set none). */
export function currentDeadline(): number {
  return requests.getStore()?.deadline ?? Number.POSITIVE_INFINITY;
}

/** Milliseconds left before the current request's deadline (never negative). */
export function remainingMs(now = Date.now()): number {
  return Math.max(0, currentDeadline() - now);
}

/** The current request's audit facts; outside a request, facts nobody reads. */
export function auditFacts(): AuditFacts {
  return requests.getStore()?.facts ?? emptyAuditFacts();
}
