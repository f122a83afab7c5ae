import { z } from 'zod';
import { API_ERRORS, type ApiErrorCode } from './api-errors.ts';
import {
  errorResponseBody,
  healthResponseBody,
  jwksResponseBody,
  oauthErrorResponseBody,
  oauthTokenForm,
  oauthTokenResponseBody,
  tokenInvalidationBody,
  tokenInvalidationResponseBody,
  tokenRequestBody,
  tokenResponseBody,
} from './schemas.ts';

/** A JSON body of one of the components below. */
const json = (component: string) => ({
  'application/json': { schema: { $ref: `#/components/schemas/${component}` } },
});

export const schema = (definition: z.ZodType) =>
  z.toJSONSchema(definition, { target: 'openapi-3.0', io: 'output' });

function errorResponses(codes: ApiErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes)
    byStatus.set(API_ERRORS[code].status, [...(byStatus.get(API_ERRORS[code].status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      {
        description: list.map((code) => `\`${code}\`: ${API_ERRORS[code].meaning}`).join(' '),
        content: json('Error'),
      },
    ]),
  );
}

/** What any request to /v1/token can meet before an exchange: its body, its caller, the policy. */
const REQUEST_ERRORS: ApiErrorCode[] = [
  'invalid_request',
  'unauthorized_caller',
  'access_denied',
  'unknown_target',
  'payload_too_large',
  'unsupported_media_type',
  'internal_error',
  'gateway_misconfigured',
  'secrets_unavailable', // an API key hash held in Secrets Manager
];

/** POST also signs and exchanges. */
const TOKEN_ERRORS: ApiErrorCode[] = [
  ...REQUEST_ERRORS,
  'invalid_grant',
  'invalid_scope',
  'upstream_misconfigured',
  'upstream_unavailable',
  'upstream_timeout',
  'signing_unavailable',
];

/** What the token cache did, in the Cache-Status response header. */
export const CACHE_STATUS_HEADER = {
  'Cache-Status': {
    description:
      'What the token cache did: hit, miss, refresh (renewed ahead of expiry), stale, or replace (a ' +
      'caching client asked again for a token it holds: replaced, at most once per interval).',
    schema: { type: 'string', enum: ['hit', 'miss', 'refresh', 'stale', 'replace'], maxLength: 8 },
  },
};

/** The OAuth error body, per status the facade answers with (docs/API.md has the mapping). */
const OAUTH_ERRORS: Record<string, string> = {
  '400':
    'invalid_request, invalid_grant (subject refused by policy or by the authorization server), unauthorized_client (target not allowed), unsupported_grant_type, invalid_scope, invalid_target',
  '401': 'invalid_client (with WWW-Authenticate: Basic)',
  '405': 'invalid_request (use POST)',
  '413': 'invalid_request (body over 16 KiB)',
  '415': 'invalid_request (not application/x-www-form-urlencoded)',
  '500': 'server_error',
  '502': "server_error (the authorization server refused the gateway's own client)",
  '503': 'temporarily_unavailable (authorization server, KMS, Secrets Manager or identity keys unavailable)',
  '504': 'temporarily_unavailable (the authorization server did not answer in time)',
};

/** `POST /oauth2/{target}/token`: the RFC 6749 facade, in both documents. */
export function oauthTokenOperation(refs: { form: string; response: string; error: string }) {
  const ref = (component: string) => ({ schema: { $ref: `#/components/schemas/${component}` } });
  return {
    post: {
      operationId: 'oauthToken',
      tags: ['oauth2'],
      summary:
        'RFC 6749 token endpoint per target (z/OS Connect zosconnect_authorizationServer tokenEndpoint)',
      description:
        'grant_type=password (username = the end user; the password is never forwarded), ' +
        'client_credentials (subject parameter = the end user), or RFC 8693 token-exchange with a ' +
        'mainframe-signed JWT. Client authentication: HTTP Basic or client_id/client_secret in the body.',
      security: [{ basic: [] }, {}],
      parameters: [
        {
          name: 'target',
          in: 'path',
          required: true,
          description: 'The configured target.',
          schema: { type: 'string', maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
        },
      ],
      requestBody: { required: true, content: { 'application/x-www-form-urlencoded': ref(refs.form) } },
      responses: {
        '200': {
          description: 'RFC 6749 5.1 access token response (Cache-Control: no-store, Pragma: no-cache)',
          headers: CACHE_STATUS_HEADER,
          content: { 'application/json': ref(refs.response) },
        },
        ...Object.fromEntries(
          Object.entries(OAUTH_ERRORS).map(([status, description]) => [
            status,
            { description, content: { 'application/json': ref(refs.error) } },
          ]),
        ),
      },
    },
  };
}

/** The OpenAPI 3 document of the v1 API, generated from the same schemas the handlers validate with. */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: {
      title: 'jwt-bearer-gateway',
      version,
      description:
        'Obtain OAuth 2.0 access tokens that represent an end user, via the RFC 7523 JWT bearer grant, ' +
        'without the user password. Errors carry a stable `error` code (docs/API.md).',
    },
    paths: {
      '/v1/token': {
        post: {
          operationId: 'getToken',
          summary: 'Obtain an access token for an end user',
          security: [{ apiKey: [] }, { basic: [] }, {}],
          requestBody: {
            required: true,
            content: json('TokenRequest'),
          },
          responses: {
            '200': {
              description: 'The access token',
              headers: CACHE_STATUS_HEADER,
              content: json('TokenResponse'),
            },
            ...errorResponses(TOKEN_ERRORS),
          },
        },
        delete: {
          operationId: 'invalidateToken',
          summary: 'Drop a cached token that an API refused (only if it is still the cached one)',
          security: [{ apiKey: [] }, { basic: [] }, {}],
          requestBody: {
            required: true,
            content: json('TokenInvalidation'),
          },
          responses: {
            '200': {
              description: 'Whether the cached token was dropped',
              content: json('TokenInvalidationResponse'),
            },
            ...errorResponses(REQUEST_ERRORS),
          },
        },
      },
      '/oauth2/{target}/token': oauthTokenOperation({
        form: 'OAuthTokenRequest',
        response: 'OAuthTokenResponse',
        error: 'OAuthError',
      }),
      '/.well-known/jwks.json': {
        get: {
          operationId: 'getJwks',
          summary: 'The public signing keys (RFC 7517), for authorization servers to trust',
          responses: {
            '200': {
              description: 'JWK Set',
              content: json('Jwks'),
            },
            ...errorResponses(['signing_unavailable', 'internal_error']),
          },
        },
      },
      '/health': {
        get: {
          operationId: 'getHealth',
          summary: 'Liveness and version',
          responses: {
            '200': {
              description: 'Healthy',
              content: json('Health'),
            },
          },
        },
      },
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
        Health: schema(healthResponseBody),
        Jwks: schema(jwksResponseBody),
        OAuthTokenRequest: schema(oauthTokenForm),
        OAuthTokenResponse: schema(oauthTokenResponseBody),
        OAuthError: schema(oauthErrorResponseBody),
      },
    },
  };
}
