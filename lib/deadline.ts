import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request's deadline (epoch milliseconds), for the adapters below the ports (KMS, Secrets Manager,
 * DynamoDB) whose interfaces do not carry it: the broker (and the proxy and JWKS handlers) set it around a
 * request, every AWS call inside reads it.
 * Where a deadline already travels explicitly (`ExchangeRequest.deadline`, the token endpoint's attempt
 * loop), it is the same number.
 */
const deadlines = new AsyncLocalStorage<number>();

/** Runs `work` with everything it calls bounded by `deadline`. */
export function withDeadline<T>(deadline: number, work: () => T): T {
  return deadlines.run(deadline, work);
}

/** The current request's deadline; `Infinity` outside a request (init, tests that set none). */
export function currentDeadline(): number {
  return deadlines.getStore() ?? Number.POSITIVE_INFINITY;
}

/** Milliseconds left before the current request's deadline (never negative). */
export function remainingMs(now = Date.now()): number {
  return Math.max(0, currentDeadline() - now);
}
