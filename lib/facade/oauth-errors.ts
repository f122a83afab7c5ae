import type { MiddlewareObj } from '@middy/core';
import type { z } from 'zod';
import { AuthorizationServerError } from '../errors.ts';
import { type ApiErrorCode, toApiError } from '../http/api-errors.ts';
import { GATEWAY_ERROR_HEADER, type HttpEvent, type HttpResult } from '../http/middleware.ts';
import { errorDescription } from '../http/responses.ts';
import type { oauthErrorResponseBody } from '../http/schemas.ts';
import { describeError, logger } from '../observability/logger.ts';
import { PolicyRefusal, type PolicyRule } from '../policy/caller-policy.ts';
import { GrantRequestError } from './grant-request.ts';

/**
 * The error codes of the RFC 6749 facade (defined with its error body in schemas.ts): RFC 6749 5.2, plus
 * `invalid_target` (RFC 8707 2, RFC 8693 2.2.2) and, for failures that are not the request's fault,
 * `temporarily_unavailable` and `server_error` (RFC 6749 4.1.2.1, used by token endpoints alike).
 */
type OAuthErrorCode = z.output<typeof oauthErrorResponseBody>['error'];

export interface OAuthErrorResponse {
  readonly status: number;
  readonly error: OAuthErrorCode;
  readonly description: string;
  readonly headers: Record<string, string>;
}

/** Realm of the `WWW-Authenticate` challenge on `invalid_client` (RFC 6749 5.2, RFC 7617). */
const OAUTH_REALM = 'jwt-bearer-gateway';

/**
 * The challenge of every `invalid_client`: `charset="UTF-8"` tells a client that encoded its id or secret
 * in ISO-8859-1 (the pre-RFC 7617 habit) how to send them (RFC 7617 2.1); they are decoded as UTF-8.
 * @see https://www.rfc-editor.org/rfc/rfc7617#section-2.1
 */
const BASIC_CHALLENGE = `Basic realm="${OAUTH_REALM}", charset="UTF-8"`;

/** The facade's answer per API error code; the policy and grant refusals are refined below. */
const BY_API_ERROR: Record<ApiErrorCode, { status: number; error: OAuthErrorCode }> = {
  invalid_request: { status: 400, error: 'invalid_request' },
  // RFC 6749 has no code for a wrong character set: invalid_request, with the description naming it.
  ebcdic_body: { status: 400, error: 'invalid_request' },
  // RFC 8693 2.2.2: an invalid subject_token is invalid_request.
  invalid_identity_token: { status: 400, error: 'invalid_request' },
  invalid_grant: { status: 400, error: 'invalid_grant' },
  invalid_scope: { status: 400, error: 'invalid_scope' },
  unauthorized_caller: { status: 401, error: 'invalid_client' },
  access_denied: { status: 400, error: 'invalid_grant' },
  unknown_target: { status: 400, error: 'unauthorized_client' },
  not_found: { status: 404, error: 'invalid_request' },
  method_not_allowed: { status: 405, error: 'invalid_request' },
  payload_too_large: { status: 413, error: 'invalid_request' },
  unsupported_media_type: { status: 415, error: 'invalid_request' },
  internal_error: { status: 500, error: 'server_error' },
  gateway_misconfigured: { status: 500, error: 'server_error' },
  upstream_misconfigured: { status: 502, error: 'server_error' },
  target_misconfigured: { status: 502, error: 'server_error' },
  upstream_unavailable: { status: 503, error: 'temporarily_unavailable' },
  upstream_busy: { status: 503, error: 'temporarily_unavailable' },
  upstream_timeout: { status: 504, error: 'temporarily_unavailable' },
  signing_unavailable: { status: 503, error: 'temporarily_unavailable' },
  secrets_unavailable: { status: 503, error: 'temporarily_unavailable' },
  // Only the invalidation (DELETE /v1/token, POST /v1/token/invalidate) meets it; mapped for completeness.
  cache_unavailable: { status: 503, error: 'temporarily_unavailable' },
  // Proxy mode's own codes never arise on the facade; mapped for completeness, as server-side failures.
  proxy_not_enabled: { status: 400, error: 'unauthorized_client' },
  call_not_allowed: { status: 400, error: 'invalid_request' },
  api_unavailable: { status: 503, error: 'temporarily_unavailable' },
  api_timeout: { status: 504, error: 'temporarily_unavailable' },
  api_response_too_large: { status: 502, error: 'server_error' },
};

const BY_POLICY_RULE: Record<PolicyRule, OAuthErrorCode> = {
  target: 'unauthorized_client',
  subject: 'invalid_grant',
  scope: 'invalid_scope',
  granted_scope: 'invalid_scope',
  audience: 'invalid_target',
  resource: 'invalid_target',
};

/**
 * Maps any failure to an RFC 6749 5.2 error. Refusals of the request are 4xx (`invalid_client` is 401
 * with a Basic challenge); only the gateway's own or its dependencies' failures are 5xx.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export function toOAuthError(failure: unknown): OAuthErrorResponse {
  const api = toApiError(failure);
  let { status, error } = BY_API_ERROR[api.code];
  const cause = api.cause ?? failure;
  if (cause instanceof GrantRequestError) {
    error = cause.oauthError;
    status = 400;
  } else if (cause instanceof PolicyRefusal) {
    error = BY_POLICY_RULE[cause.rule];
  } else if (cause instanceof AuthorizationServerError && cause.error === 'invalid_target') {
    ({ status, error } = { status: 400, error: 'invalid_target' });
  }
  const headers: Record<string, string> = { ...api.headers };
  if (error === 'invalid_client') headers['www-authenticate'] = BASIC_CHALLENGE;
  return { status, error, description: errorDescription(api.description), headers };
}

/** The facade's error middleware: RFC 6749 5.2 bodies, `no-store`, logged like the JSON API's errors. */
export function oauthErrorHandler(): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    onError: (request) => {
      const answer = toOAuthError(request.error);
      const details = { error: answer.error, status: answer.status, ...describeError(request.error) };
      if (answer.status >= 500) logger.error('token request failed', details);
      else logger.info('token request refused', details);
      request.response = {
        statusCode: answer.status,
        headers: {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          pragma: 'no-cache',
          // As on every gateway error answer: the gateway, not an API behind it, answered.
          [GATEWAY_ERROR_HEADER]: 'true',
          ...answer.headers,
        },
        body: JSON.stringify({ error: answer.error, error_description: answer.description }),
      };
    },
  };
}
