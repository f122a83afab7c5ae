import { type AuthorizationServerError, type GatewayError, isGatewayError } from '../errors.ts';
import { redactJwts } from '../observability/logger.ts';

/**
 * The API's error codes: stable, documented in docs/API.md, and what a mainframe program switches on.
 * One row per code: its HTTP status, whether a caller may retry it (docs/API.md says the same), and what it
 * means.
 */
export const API_ERRORS = {
  invalid_request: {
    status: 400,
    retryable: false,
    meaning: 'The request is malformed: body, field, length or media type.',
  },
  ebcdic_body: {
    status: 400,
    retryable: false,
    meaning:
      "The body is in an EBCDIC code page (IBM-037 or IBM-1047), not UTF-8: send UTF-8 (CICS: CHARACTERSET('UTF-8'); HWTH: HWTH_OPT_TRANSLATE_REQBODY).",
  },
  invalid_identity_token: {
    status: 400,
    retryable: false,
    meaning:
      'The identity token proving the end user (x-subject-token) failed verification: signature, ' +
      'algorithm, issuer, audience, expiry or age. Sign a new one; resending it cannot succeed.',
  },
  invalid_grant: {
    status: 400,
    retryable: false,
    meaning: 'The authorization server refused the assertion for this user.',
  },
  invalid_scope: {
    status: 400,
    retryable: false,
    meaning: 'The authorization server refused the requested scope.',
  },
  unauthorized_caller: {
    status: 401,
    retryable: false,
    meaning: 'No valid caller credential (API key, certificate, IAM).',
  },
  access_denied: {
    status: 403,
    retryable: false,
    meaning: 'The caller may not obtain this token (target, subject, scope...).',
  },
  unknown_target: { status: 404, retryable: false, meaning: 'No target of that name is configured.' },
  proxy_not_enabled: {
    status: 404,
    retryable: false,
    meaning: 'The target fronts no API: /v1/call is not enabled for it.',
  },
  call_not_allowed: {
    status: 403,
    retryable: false,
    meaning: "The call's method or path is outside what the target lets callers reach.",
  },
  not_found: { status: 404, retryable: false, meaning: 'No such route.' },
  method_not_allowed: {
    status: 405,
    retryable: false,
    meaning: 'The route does not accept this HTTP method.',
  },
  payload_too_large: { status: 413, retryable: false, meaning: 'The body exceeds the size limit.' },
  unsupported_media_type: { status: 415, retryable: false, meaning: 'The body is not application/json.' },
  internal_error: {
    status: 500,
    retryable: false,
    meaning: 'An unexpected failure; the request id finds it in the logs.',
  },
  gateway_misconfigured: {
    status: 500,
    retryable: false,
    meaning: 'The gateway configuration is invalid, or it has no AWS region or credentials; see the logs.',
  },
  upstream_misconfigured: {
    status: 502,
    retryable: false,
    meaning: "The authorization server refused the gateway's own client (credentials, grant not enabled).",
  },
  target_misconfigured: {
    status: 502,
    retryable: false,
    meaning:
      "The target's issuer publishes no usable metadata (none found, issuer mismatch, no token endpoint).",
  },
  upstream_unavailable: {
    status: 502,
    retryable: true,
    meaning: 'The authorization server failed, or answered invalidly.',
  },
  upstream_busy: {
    status: 503,
    retryable: true,
    retryAfterSeconds: 1,
    meaning:
      "The authorization server's request budget is used up, or it asked for a pause: nothing was sent. Retry after Retry-After; coming back then keeps the caller's place.",
  },
  upstream_timeout: {
    status: 504,
    retryable: true,
    meaning: 'The authorization server, or the request as a whole, did not finish in time.',
  },
  api_unavailable: {
    status: 502,
    retryable: true,
    meaning: 'The proxied API could not be reached (connection, DNS, TLS).',
  },
  api_timeout: { status: 504, retryable: true, meaning: 'The proxied API did not answer in time.' },
  api_response_too_large: {
    status: 502,
    retryable: false,
    meaning: "The proxied API's response exceeds the size limit.",
  },
  signing_unavailable: {
    status: 503,
    retryable: true,
    retryAfterSeconds: 2,
    meaning: 'The signing key could not be used (KMS unavailable, throttled, disabled).',
  },
  cache_unavailable: {
    status: 503,
    retryable: true,
    retryAfterSeconds: 2,
    meaning:
      'Invalidation only (DELETE /v1/token, POST /v1/token/invalidate): the shared token cache could not be reached to drop the token; retry.',
  },
  secrets_unavailable: {
    status: 503,
    retryable: true,
    retryAfterSeconds: 2,
    meaning: "A client secret or the caller's API key hash could not be read (Secrets Manager).",
  },
} as const satisfies Record<
  string,
  {
    status: number;
    retryable: boolean;
    /** The Retry-After sent when the failing dependency gave none (every 503 carries one). */
    retryAfterSeconds?: number;
    meaning: string;
  }
>;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error as the API reports it; `description` is safe to show to the caller. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  /** Extra response headers (e.g. `Allow` on 405). */
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ApiErrorCode,
    readonly description: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(description, options);
    const row: { status: number; retryAfterSeconds?: number } = API_ERRORS[code];
    this.status = row.status;
    this.headers = options?.headers ?? {};
    // RFC 9110 10.2.3: a 503 says when to come back; the code's own default when the dependency did not.
    if (row.retryAfterSeconds !== undefined && this.headers['retry-after'] === undefined) {
      this.headers = { ...this.headers, 'retry-after': String(row.retryAfterSeconds) };
    }
  }
}

/** OAuth errors that say something is wrong with the gateway's own client registration, not the user. */
const CLIENT_PROBLEMS = new Set([
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_request',
]);

/** Maps any failure to an API error. Unknown failures become `internal_error` with no detail. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (!isGatewayError(error)) return new ApiError('internal_error', 'unexpected error', { cause: error });
  return fromGatewayError(error);
}

function fromGatewayError(error: GatewayError): ApiError {
  // A dependency's Retry-After reaches the caller (RFC 9110 10.2.3), on whichever code results.
  const cause =
    error.retryAfterSeconds === undefined
      ? { cause: error }
      : { cause: error, headers: { 'retry-after': String(error.retryAfterSeconds) } };
  switch (error.code) {
    case 'ERR_REQUEST_INVALID':
    case 'ERR_SUBJECT_INVALID':
      return new ApiError('invalid_request', error.message, cause);
    case 'ERR_IDENTITY_TOKEN_INVALID':
      return new ApiError('invalid_identity_token', error.message, cause);
    case 'ERR_CALLER_UNAUTHENTICATED':
      return new ApiError('unauthorized_caller', 'a valid caller credential is required', cause);
    case 'ERR_ACCESS_DENIED':
      return new ApiError('access_denied', error.message, cause);
    case 'ERR_TARGET_UNKNOWN':
      return new ApiError('unknown_target', error.message, cause);
    case 'ERR_AS_REJECTED':
      return fromAuthorizationServer(error as AuthorizationServerError);
    case 'ERR_AS_UNAVAILABLE':
      return new ApiError('upstream_unavailable', 'the authorization server is unavailable', cause);
    case 'ERR_AS_BUSY':
      return new ApiError('upstream_busy', error.message, cause);
    case 'ERR_AS_TIMEOUT':
      return new ApiError('upstream_timeout', 'the authorization server did not answer in time', cause);
    case 'ERR_AS_RESPONSE_INVALID':
      return new ApiError('upstream_unavailable', 'the authorization server answered invalidly', cause);
    case 'ERR_IDENTITY_KEYS_UNAVAILABLE':
      return new ApiError('upstream_unavailable', error.message, cause);
    case 'ERR_TARGET_MISCONFIGURED':
      return new ApiError('target_misconfigured', error.message, cause);
    case 'ERR_DEADLINE_EXCEEDED':
      return new ApiError('upstream_timeout', 'the request did not finish in time', cause);
    case 'ERR_SIGNING_KEY_NOT_FOUND':
    case 'ERR_SIGNING_KEY_UNUSABLE':
    case 'ERR_SIGNING_KEY_UNSUPPORTED':
    case 'ERR_SIGNING_UNAVAILABLE':
      return new ApiError('signing_unavailable', 'the signing key is unavailable', cause);
    case 'ERR_SECRET_NOT_FOUND':
      return new ApiError('upstream_misconfigured', 'a client credential of this target is missing', cause);
    case 'ERR_SECRET_UNAVAILABLE':
      return new ApiError('secrets_unavailable', 'a client credential could not be read', cause);
    case 'ERR_CONFIG_INVALID':
      return new ApiError('gateway_misconfigured', 'the gateway configuration is invalid', cause);
    case 'ERR_AWS_UNCONFIGURED':
      return new ApiError('gateway_misconfigured', 'the gateway has no AWS region or credentials', cause);
    case 'ERR_PROXY_NOT_ENABLED':
      return new ApiError('proxy_not_enabled', error.message, cause);
    case 'ERR_PROXY_NOT_ALLOWED':
      return new ApiError('call_not_allowed', error.message, cause);
    case 'ERR_PROXY_BODY_TOO_LARGE':
      return new ApiError('payload_too_large', error.message, cause);
    case 'ERR_API_UNAVAILABLE':
      return new ApiError('api_unavailable', error.message, cause);
    case 'ERR_API_TIMEOUT':
      return new ApiError('api_timeout', error.message, cause);
    case 'ERR_API_RESPONSE_TOO_LARGE':
      return new ApiError('api_response_too_large', error.message, cause);
    case 'ERR_CACHE_UNAVAILABLE':
      // Token requests degrade to direct exchanges; only an invalidation needs the shared layer.
      return new ApiError('cache_unavailable', 'the shared token cache could not be reached', cause);
  }
}

function fromAuthorizationServer(error: AuthorizationServerError): ApiError {
  // The server's own words go to the caller, but never an assertion or token it may have quoted.
  const detail = redactJwts(`${error.error}${error.errorDescription ? `: ${error.errorDescription}` : ''}`);
  // A remembered refusal (negative cache) says so, as a token from the cache does.
  const cause = { cause: error, ...(error.fromCache ? { headers: { 'cache-status': 'hit' } } : {}) };
  if (error.error === 'invalid_grant') {
    return new ApiError('invalid_grant', `the authorization server refused the grant (${detail})`, cause);
  }
  if (error.error === 'invalid_scope') {
    return new ApiError('invalid_scope', `the authorization server refused the scope (${detail})`, cause);
  }
  if (error.error === 'temporarily_unavailable') {
    return new ApiError('upstream_unavailable', `the authorization server is unavailable (${detail})`, cause);
  }
  const code =
    CLIENT_PROBLEMS.has(error.error) || error.status < 500
      ? 'upstream_misconfigured'
      : 'upstream_unavailable';
  return new ApiError(code, `the authorization server refused the gateway's request (${detail})`, cause);
}
