import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthorizationServerError, GatewayError, type GatewayErrorCode } from '#lib/errors.ts';
import { toOAuthError } from '#lib/facade/oauth-errors.ts';
import { API_ERRORS, ApiError, type ApiErrorCode } from '#lib/http/api-errors.ts';
import { apiErrorHandler, type HttpEvent, type HttpResult } from '#lib/http/middleware.ts';
import { httpApiEvent } from '#test/support/api-gateway-events.ts';

/** RFC 6749 5.2: error_description is %x20-21 / %x23-5B / %x5D-7E, nothing else (no `"`, no `\`). */
const RFC6749_DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

const GATEWAY_CODES: GatewayErrorCode[] = [
  'ERR_CONFIG_INVALID',
  'ERR_REQUEST_INVALID',
  'ERR_TARGET_UNKNOWN',
  'ERR_ACCESS_DENIED',
  'ERR_IDENTITY_TOKEN_INVALID',
  'ERR_PROXY_NOT_ENABLED',
  'ERR_PROXY_NOT_ALLOWED',
  'ERR_API_TIMEOUT',
];

/** Any failure a handler may meet, its text anything at all (quotes, backslashes, controls, non-ASCII). */
const failures = fc.oneof(
  fc
    .tuple(fc.constantFrom(...GATEWAY_CODES), fc.string({ unit: 'binary' }))
    .map(([code, text]) => new GatewayError(code, text)),
  fc
    .tuple(fc.constantFrom(...(Object.keys(API_ERRORS) as ApiErrorCode[])), fc.string({ unit: 'binary' }))
    .map(([code, text]) => new ApiError(code, text)),
  fc
    .tuple(fc.string(), fc.string({ unit: 'binary', maxLength: 2000 }))
    .map(([error, text]) => new AuthorizationServerError(error || 'invalid_grant', text, 400)),
  fc.string({ unit: 'binary' }).map((text) => new Error(text)),
);

describe('error_description (RFC 6749 5.2)', () => {
  it('is only %x20-21 / %x23-5B / %x5D-7E and at most 512 characters in every facade answer', () => {
    fc.assert(
      fc.property(failures, (failure) => {
        const { description } = toOAuthError(failure);
        expect(description).toMatch(RFC6749_DESCRIPTION);
        expect(description.length).toBeLessThanOrEqual(512);
      }),
    );
  });

  it('is the same in every JSON API error body', async () => {
    const handler = apiErrorHandler();
    await fc.assert(
      fc.asyncProperty(failures, async (failure) => {
        const request = { event: httpApiEvent({}) as HttpEvent, error: failure } as {
          event: HttpEvent;
          error: unknown;
          response?: HttpResult;
        };
        await handler.onError?.(request as never);
        const body = JSON.parse(request.response?.body ?? '{}') as { error_description: string };
        expect(body.error_description).toMatch(RFC6749_DESCRIPTION);
        expect(body.error_description.length).toBeLessThanOrEqual(512);
      }),
    );
  });

  it('keeps what it can read: quotes become apostrophes', () => {
    // Act
    const { description } = toOAuthError(new GatewayError('ERR_TARGET_UNKNOWN', 'no target named "nosuch"'));

    // Assess
    expect(description).toBe("no target named 'nosuch'");
  });
});
