import { remainingMs } from '../deadline.ts';

/** How long one AWS call may take, its SDK attempts (and their backoff) together. */
export interface AwsCallLimits {
  /** One HTTP attempt (the SDK's `requestTimeout`); the SDK retries a timed-out attempt. */
  readonly attemptTimeoutMs: number;
  /** The whole call, retries included; the request's remaining time lowers it further. */
  readonly callTimeoutMs: number;
  /**
   * The share of the request's remaining time one call may take (default 1, all of it). An optional
   * dependency takes less, so that the request still has time to go on without it.
   */
  readonly budgetShare?: number;
}

/**
 * KMS and Secrets Manager answer in tens of milliseconds; a call still unanswered after 5 s is an outage,
 * and the request must keep time to say so (503) or to go on without it.
 */
export const KMS_CALL_LIMITS: AwsCallLimits = { attemptTimeoutMs: 2_000, callTimeoutMs: 5_000 };
/** KMS for the token cache's data keys: as optional as the cache itself (see DynamoDB below). */
export const CACHE_KMS_CALL_LIMITS: AwsCallLimits = { ...KMS_CALL_LIMITS, budgetShare: 0.25 };
export const SECRETS_MANAGER_CALL_LIMITS: AwsCallLimits = { attemptTimeoutMs: 2_000, callTimeoutMs: 5_000 };
/**
 * The shared cache is an optimisation: it must never cost a request much before it degrades, so each call
 * takes at most a quarter of what is left (a request makes up to three in a row when DynamoDB hangs).
 */
export const DYNAMODB_CALL_LIMITS: AwsCallLimits = {
  attemptTimeoutMs: 1_000,
  callTimeoutMs: 2_000,
  budgetShare: 0.25,
};

/** SDK v3 per-command options (`client.send(command, options)`). */
export interface AwsCallOptions {
  readonly abortSignal: AbortSignal;
  readonly requestTimeout: number;
}

/**
 * Options for one `client.send`: an abort signal at the earlier of the call's own limit and the request's
 * deadline, and no attempt longer than what is left. An aborted call fails with `AbortError`, which the
 * SDK does not retry and `awsFailureKind` reads as transient.
 * @see https://github.com/smithy-lang/smithy-typescript/issues/2268 (aborts stop SDK retries since @smithy/core 3.34)
 */
export function awsCallOptions(limits: AwsCallLimits): AwsCallOptions {
  const budget = Math.floor(Math.min(limits.callTimeoutMs, remainingMs() * (limits.budgetShare ?? 1)));
  return {
    abortSignal: budget > 0 ? AbortSignal.timeout(budget) : AbortSignal.abort(deadlinePassed()),
    // At least 1 ms: 0 would mean "no timeout" to the SDK.
    requestTimeout: Math.max(1, Math.min(limits.attemptTimeoutMs, budget)),
  };
}

function deadlinePassed(): Error {
  const error = new Error('the request deadline has passed');
  error.name = 'TimeoutError';
  return error;
}

/**
 * Client settings matching the limits: a connection must open within a second (half an attempt for
 * DynamoDB), and a timed-out attempt throws (without `throwOnRequestTimeout` the SDK only logs it).
 */
export function awsClientSettings(limits: AwsCallLimits, maxAttempts?: number) {
  return {
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
    requestHandler: {
      connectionTimeout: Math.min(1_000, limits.attemptTimeoutMs / 2),
      requestTimeout: limits.attemptTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}
