import { API_ERRORS, type ApiErrorCode } from './api-errors.ts';
import {
  CACHE_STATUS_HEADER,
  INVALIDATE_BY_POST_DESCRIPTION,
  INVALIDATION_ERRORS,
  oauthTokenOperation,
  schema,
  TOKEN_ERRORS,
} from './openapi.ts';
import {
  errorResponseBody,
  oauthErrorResponseBody,
  oauthTokenForm,
  oauthTokenResponseBody,
  tokenInvalidationBody,
  tokenInvalidationResponseBody,
  tokenRequestBody,
  tokenResponseBody,
} from './schemas.ts';

/** The error responses of /v1/token, by status: one COBOL response structure per status. */
function errors(codes: ApiErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes) {
    const status = API_ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      {
        description: list.map((code) => `\`${code}\``).join(', '),
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );
}

const body = (component: string) => ({
  required: true,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${component}` } } },
});

/**
 * `DELETE /v1/token` and `POST /v1/token/invalidate` (CICS cannot send a body with DELETE, so a CICS
 * program needs the POST form): one operation, two routes.
 */
function invalidationOperation(operationId: 'invalidateToken' | 'invalidateTokenByPost') {
  return {
    operationId,
    tags: ['token'],
    summary: 'Drop a cached token an API refused (401), then ask again once',
    ...(operationId === 'invalidateTokenByPost' ? { description: INVALIDATE_BY_POST_DESCRIPTION } : {}),
    security: [{ apiKey: [] }, { basic: [] }],
    requestBody: body('TokenInvalidation'),
    responses: {
      '200': {
        description: 'Whether the cached token was dropped',
        content: {
          'application/json': { schema: { $ref: '#/components/schemas/TokenInvalidationResponse' } },
        },
      },
      ...errors(INVALIDATION_ERRORS),
    },
  };
}

/**
 * The OpenAPI 3.0 document for API requesters (the z/OS Connect build toolkit, which generates COBOL
 * and PL/I structures from it): only what a mainframe program calls, `/v1/token`, `/v1/token/invalidate` and the RFC 6749
 * facade. Every string has a maxLength and every integer a format or tight bounds, so each generated
 * field has a fixed size; operations are tagged. docs/openapi-requester.json (npm run openapi).
 * Proxy mode (`/v1/call`) is left out: what lies below `/v1/call/{target}/` is the proxied API's own
 * contract, which only its own document can describe for a generator.
 */
export function requesterOpenApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: {
      title: 'jwt-bearer-gateway (API requester)',
      version,
      description:
        'Access tokens for an end user, for mainframe API requesters. POST /v1/token (JSON; after a 401, ' +
        'POST /v1/token/invalidate, which CICS can send where it cannot send DELETE with a body) or the ' +
        'RFC 6749 token endpoint /oauth2/{target}/token (form). See docs/MAINFRAME.md.',
    },
    tags: [
      { name: 'token', description: 'The JSON token API' },
      { name: 'oauth2', description: 'RFC 6749 token endpoint (z/OS Connect OAuth client)' },
    ],
    paths: {
      '/v1/token': {
        post: {
          operationId: 'getToken',
          tags: ['token'],
          summary: 'Obtain an access token for an end user',
          security: [{ apiKey: [] }, { basic: [] }],
          requestBody: body('TokenRequest'),
          responses: {
            '200': {
              description: 'The access token',
              headers: CACHE_STATUS_HEADER,
              content: { 'application/json': { schema: { $ref: '#/components/schemas/TokenResponse' } } },
            },
            ...errors(TOKEN_ERRORS),
          },
        },
        delete: invalidationOperation('invalidateToken'),
      },
      '/v1/token/invalidate': {
        post: invalidationOperation('invalidateTokenByPost'),
      },
      '/oauth2/{target}/token': oauthTokenOperation({
        form: 'OAuthTokenRequest',
        response: 'OAuthTokenResponse',
        error: 'OAuthError',
      }),
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        basic: { type: 'http', scheme: 'basic', description: 'The caller OAuth client id and secret.' },
      },
      schemas: {
        TokenRequest: schema(tokenRequestBody),
        TokenResponse: schema(tokenResponseBody),
        TokenInvalidation: schema(tokenInvalidationBody),
        TokenInvalidationResponse: schema(tokenInvalidationResponseBody),
        Error: schema(errorResponseBody),
        OAuthTokenRequest: schema(oauthTokenForm),
        OAuthTokenResponse: schema(oauthTokenResponseBody),
        OAuthError: schema(oauthErrorResponseBody),
      },
    },
  };
}
