import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

/**
 * What an AWS SDK failure means for the gateway, decided in one place for every adapter (KMS signer,
 * envelope cipher, Secrets Manager store, DynamoDB store):
 * - `transient`: asking again later may well work (throttled, 5xx, no HTTP answer, a per-attempt
 *   timeout, or the request's own deadline aborting the call). Callers get a retryable 503/504.
 * - `configuration`: this runtime has no AWS region or no credentials; nothing succeeds until an operator
 *   fixes it, so retrying is pointless.
 * - `refused`: AWS answered and said no (not found, access denied, disabled key, ...): each adapter
 *   maps the service's own error name.
 */
export type AwsFailureKind = 'transient' | 'configuration' | 'refused';

/**
 * Based on the SDK's own retry classification (`@smithy/core/retry`, what its retry strategy uses), with
 * two additions: `AbortError` (the SDK leaves it out so that an abort stops its own retries; for us it is
 * the deadline, and the caller may retry) and errors with no HTTP status at all (no answer was received).
 */
export function awsFailureKind(error: unknown): AwsFailureKind {
  if (typeof error !== 'object' || error === null) return 'transient';
  const failure = error as Parameters<typeof isTransientError>[0];
  if (failure.name === 'CredentialsProviderError' || failure.message === REGION_MISSING)
    return 'configuration';
  if (failure.name === 'AbortError' || failure.name === 'TimeoutError') return 'transient';
  if (isTransientError(failure) || isThrottlingError(failure) || isServerError(failure)) return 'transient';
  return failure.$metadata?.httpStatusCode === undefined ? 'transient' : 'refused';
}

/** The AWS error's name (`ThrottlingException`, `NotFoundException`, ...), for messages and maps. */
export function awsErrorName(error: unknown): string {
  return (error as { name?: unknown } | undefined)?.name?.toString() ?? 'Error';
}

/** What the SDK throws (a plain Error) when neither the client nor the environment names a region. */
const REGION_MISSING = 'Region is missing';
