import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { AuthorizationServerError, GatewayError } from '#lib/errors.ts';
import { toOAuthError } from '#lib/facade/oauth-errors.ts';
import { API_ERRORS, toApiError } from '#lib/http/api-errors.ts';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJDSUNTVVNSMSJ9.c2lnbmF0dXJl';

describe('toApiError', () => {
  describe('Retry-After', () => {
    const unavailable: Array<[string, GatewayError]> = [
      ['signing_unavailable', new GatewayError('ERR_SIGNING_UNAVAILABLE', 'KMS Sign failed')],
      ['secrets_unavailable', new GatewayError('ERR_SECRET_UNAVAILABLE', 'GetSecretValue failed')],
      ['cache_unavailable', new GatewayError('ERR_CACHE_UNAVAILABLE', 'DeleteItem failed')],
      ['upstream_busy', new GatewayError('ERR_AS_BUSY', 'no turn')],
    ];

    it.each(unavailable)('answers %s with a Retry-After, on the JSON API and the facade', (code, error) => {
      // Act
      const api = toApiError(error);
      const facade = toOAuthError(error);

      // Assess
      expect(api).toMatchObject({ code, status: 503 });
      expect(Number(api.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(facade).toMatchObject({ status: 503, error: 'temporarily_unavailable' });
      expect(facade.headers['retry-after']).toBe(api.headers['retry-after']);
    });

    it("keeps the dependency's own Retry-After over the default", () => {
      // Act
      const api = toApiError(new GatewayError('ERR_SIGNING_UNAVAILABLE', 'x', { retryAfterSeconds: 9 }));

      // Assess
      expect(api.headers['retry-after']).toBe('9');
    });

    it('gives every 503 code a default Retry-After', () => {
      const without = Object.entries(API_ERRORS).filter(
        ([, row]) => row.status === 503 && !('retryAfterSeconds' in row),
      );
      expect(without).toEqual([]);
    });
  });

  it("passes the server's error on without any JWT it quoted", () => {
    // Act
    const error = toApiError(new AuthorizationServerError('invalid_grant', `assertion ${JWT} expired`, 400));

    // Assess
    expect(error).toMatchObject({ code: 'invalid_grant', status: 400 });
    expect(error.description).toContain('assertion [REDACTED JWT] expired');
    expect(error.description).not.toContain(JWT);
  });

  const cases: Array<[string, AuthorizationServerError | GatewayError, string, number]> = [
    ['invalid_scope', new AuthorizationServerError('invalid_scope', undefined, 400), 'invalid_scope', 400],
    [
      'invalid_client',
      new AuthorizationServerError('invalid_client', undefined, 401),
      'upstream_misconfigured',
      502,
    ],
    [
      'unauthorized_client',
      new AuthorizationServerError('unauthorized_client', undefined, 400),
      'upstream_misconfigured',
      502,
    ],
    [
      'temporarily_unavailable',
      new AuthorizationServerError('temporarily_unavailable', undefined, 503),
      'upstream_unavailable',
      502,
    ],
    ['a timeout', new GatewayError('ERR_AS_TIMEOUT', 'x'), 'upstream_timeout', 504],
    ['an unreachable server', new GatewayError('ERR_AS_UNAVAILABLE', 'x'), 'upstream_unavailable', 502],
    ['a disabled key', new GatewayError('ERR_SIGNING_KEY_UNUSABLE', 'x'), 'signing_unavailable', 503],
    ['a missing secret', new GatewayError('ERR_SECRET_NOT_FOUND', 'x'), 'upstream_misconfigured', 502],
    ['Secrets Manager down', new GatewayError('ERR_SECRET_UNAVAILABLE', 'x'), 'secrets_unavailable', 503],
    ['a bad subject', new GatewayError('ERR_SUBJECT_INVALID', 'x'), 'invalid_request', 400],
    ['an unreachable shared cache', new GatewayError('ERR_CACHE_UNAVAILABLE', 'x'), 'cache_unavailable', 503],
    [
      'a discovery misconfiguration',
      new GatewayError('ERR_TARGET_MISCONFIGURED', 'x'),
      'target_misconfigured',
      502,
    ],
    [
      'no AWS region or credentials',
      new GatewayError('ERR_AWS_UNCONFIGURED', 'x'),
      'gateway_misconfigured',
      500,
    ],
    ['the Lambda timeout', new GatewayError('ERR_DEADLINE_EXCEEDED', 'x'), 'upstream_timeout', 504],
  ];
  for (const [name, input, code, status] of cases) {
    it(`maps ${name} to ${code} (${status})`, () => {
      expect(toApiError(input)).toMatchObject({ code, status });
    });
  }

  it('hides unexpected errors behind internal_error', () => {
    // Act
    const error = toApiError(new Error('secret detail'));

    // Assess
    expect(error).toMatchObject({ code: 'internal_error', status: 500, description: 'unexpected error' });
  });
});

describe('API_ERRORS', () => {
  it('says in docs/API.md which codes a caller may retry, as the table here does', async () => {
    // Prepare
    const text = await readFile('docs/API.md', 'utf8');

    // Act
    const documented = Object.fromEntries(
      [...text.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| (yes|no)\*? \|/gm)].map(([, code, status, retry]) => [
        code,
        { status: Number(status), retryable: retry === 'yes' },
      ]),
    );

    // Assess: every code but the local runtime's own two is in the table, with its status and retry rule.
    const expected = Object.fromEntries(
      Object.entries(API_ERRORS)
        .filter(([code]) => code !== 'not_found' && code !== 'method_not_allowed')
        .map(([code, { status, retryable }]) => [code, { status, retryable }]),
    );
    expect(documented).toEqual(expected);
  });
});
