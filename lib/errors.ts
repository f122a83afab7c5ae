/**
 * One error class for everything the gateway raises on purpose. `code` is stable: callers (and the HTTP
 * layer that maps codes to API errors) switch on it, never on messages. Messages never carry secrets,
 * private keys, assertions or tokens.
 */
export type GatewayErrorCode =
  /** The configuration file is unreadable or does not match the schema. */
  | 'ERR_CONFIG_INVALID'
  /**
   * The configuration needs AWS (KMS keys, Secrets Manager references, DynamoDB) but this runtime has no
   * AWS region or no credentials (the SDK's CredentialsProviderError): an operator must fix it; retrying
   * will not help.
   */
  | 'ERR_AWS_UNCONFIGURED'
  /** The request itself is malformed (body, fields, media type). */
  | 'ERR_REQUEST_INVALID'
  /** No credential identified a configured caller. */
  | 'ERR_CALLER_UNAUTHENTICATED'
  /** The caller is known but its policy does not allow this target, subject, scope, audience or resource. */
  | 'ERR_ACCESS_DENIED'
  /** The caller's subject cannot become an assertion `sub` (empty, too long, control characters). */
  | 'ERR_SUBJECT_INVALID'
  /** A request names a target, key or grant the configuration does not define. */
  | 'ERR_TARGET_UNKNOWN'
  /** The signing key does not exist (KMS NotFoundException, missing local key file). */
  | 'ERR_SIGNING_KEY_NOT_FOUND'
  /** The signing key exists but may not sign: disabled, pending deletion, retired, wrong usage. */
  | 'ERR_SIGNING_KEY_UNUSABLE'
  /** The signing key's type has no JWS algorithm we support. */
  | 'ERR_SIGNING_KEY_UNSUPPORTED'
  /** KMS could not be reached or refused us (throttling, access denied, timeout). */
  | 'ERR_SIGNING_UNAVAILABLE'
  /** A secret reference points at nothing (no such secret, variable or JSON field). */
  | 'ERR_SECRET_NOT_FOUND'
  /** Secrets Manager could not be reached or refused us. */
  | 'ERR_SECRET_UNAVAILABLE'
  /**
   * The shared token cache (DynamoDB, its KMS key) failed. Token requests fall back to exchanging; an
   * invalidation cannot, and reports it.
   */
  | 'ERR_CACHE_UNAVAILABLE'
  /** The authorization server answered with an OAuth error (RFC 6749 5.2). */
  | 'ERR_AS_REJECTED'
  /** The authorization server could not be reached, or failed with 5xx/429, after retries. */
  | 'ERR_AS_UNAVAILABLE'
  /**
   * The target's admission refused the request without sending it: its authorization server's rate or
   * concurrency limit is used up, or it asked for a pause (429/503 with Retry-After). Carries Retry-After.
   */
  | 'ERR_AS_BUSY'
  /** The authorization server did not answer within the timeout, after retries. */
  | 'ERR_AS_TIMEOUT'
  /** The authorization server answered something that is not a valid token response. */
  | 'ERR_AS_RESPONSE_INVALID'
  /** An identity token (RFC 8693 subject_token) failed verification: signature, alg, iss, aud, exp, age. */
  | 'ERR_IDENTITY_TOKEN_INVALID'
  /** The keys of an identity token issuer (its JWKS, its certificate) could not be read. */
  | 'ERR_IDENTITY_KEYS_UNAVAILABLE'
  /**
   * The target's issuer publishes no usable metadata (none at either well-known URL, an issuer that does
   * not match, no token endpoint): the target's configuration is wrong, not the server down.
   */
  | 'ERR_TARGET_MISCONFIGURED'
  /** The request ran out of time (the Lambda invocation's deadline) before any dependency failed on its own. */
  | 'ERR_DEADLINE_EXCEEDED'
  /** A call names a target that fronts no API (no `proxy` in its configuration). */
  | 'ERR_PROXY_NOT_ENABLED'
  /** The call's method or path is outside the target's allow-list. */
  | 'ERR_PROXY_NOT_ALLOWED'
  /** The call's body exceeds the target's (or the platform's) limit. */
  | 'ERR_PROXY_BODY_TOO_LARGE'
  /** The proxied API could not be reached: connection refused or reset, DNS, TLS. */
  | 'ERR_API_UNAVAILABLE'
  /** The proxied API did not answer within the target's timeout or the request deadline. */
  | 'ERR_API_TIMEOUT'
  /** The proxied API's answer exceeds the response limit. */
  | 'ERR_API_RESPONSE_TOO_LARGE';

export class GatewayError extends Error {
  override readonly name: string = 'GatewayError';
  readonly code: GatewayErrorCode;
  /** When a dependency said when to try again (its `Retry-After`), in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: GatewayErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number | undefined },
  ) {
    super(message, options);
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/**
 * The authorization server refused the request with an OAuth error response. Carries the server's own
 * `error` and `error_description` so they can be mapped faithfully (invalid_grant, invalid_client, ...).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class AuthorizationServerError extends GatewayError {
  override readonly name = 'AuthorizationServerError';
  /** The `error` member of the server's response, e.g. `invalid_grant`. */
  readonly error: string;
  /** The `error_description` member, if the server sent one. */
  readonly errorDescription: string | undefined;
  /** HTTP status of the server's response. */
  readonly status: number;
  /** The refusal was answered from the negative cache, without asking the server again. */
  readonly fromCache: boolean;

  constructor(
    error: string,
    errorDescription: string | undefined,
    status: number,
    options?: { cause?: unknown; fromCache?: boolean },
  ) {
    const detail = errorDescription ? `: ${errorDescription}` : '';
    super('ERR_AS_REJECTED', `authorization server rejected the request (${error}${detail})`, options);
    this.error = error;
    this.errorDescription = errorDescription;
    this.status = status;
    this.fromCache = options?.fromCache ?? false;
  }
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}
