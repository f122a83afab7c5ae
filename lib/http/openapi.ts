import { z } from 'zod';
import { API_ERRORS, type ApiErrorCode } from './api-errors.ts';
import {
  errorResponseBody,
  healthResponseBody,
  jwksResponseBody,
  readinessResponseBody,
  tokenInvalidationBody,
  tokenInvalidationResponseBody,
  tokenRequestBody,
  tokenResponseBody,
} from './schemas.ts';

/** A JSON body of one of the components below. */
const json = (component: string) => ({
  'application/json': { schema: { $ref: `#/components/schemas/${component}` } },
});

const schema = (definition: z.ZodType) => z.toJSONSchema(definition, { target: 'openapi-3.0', io: 'output' });

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
          security: [{ apiKey: [] }, {}],
          requestBody: {
            required: true,
            content: json('TokenRequest'),
          },
          responses: {
            '200': {
              description: 'The access token',
              headers: {
                'Cache-Status': {
                  description:
                    'What the token cache did: hit, miss, refresh (renewed ahead of expiry) or stale.',
                  schema: { type: 'string', enum: ['hit', 'miss', 'refresh', 'stale'], maxLength: 8 },
                },
              },
              content: json('TokenResponse'),
            },
            ...errorResponses(TOKEN_ERRORS),
          },
        },
        delete: {
          operationId: 'invalidateToken',
          summary: 'Drop a cached token that an API refused (only if it is still the cached one)',
          security: [{ apiKey: [] }, {}],
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
      '/v1/ready': {
        get: {
          operationId: 'getReadiness',
          summary: 'Whether every dependency of the token function answers (known callers only)',
          description:
            'Checks the signing keys (KMS GetPublicKey), the secrets the configuration references, the ' +
            "token table and each target's authorization server, each bounded in time. One report serves " +
            'every caller for 30 s.',
          security: [{ apiKey: [] }, {}],
          responses: {
            '200': { description: 'Every dependency answered', content: json('Readiness') },
            '503': {
              description:
                'At least one dependency did not (the body says which), or, with an error body, ' +
                '`secrets_unavailable`: an API key hash could not be read.',
              content: {
                'application/json': {
                  schema: {
                    oneOf: [
                      { $ref: '#/components/schemas/Readiness' },
                      { $ref: '#/components/schemas/Error' },
                    ],
                  },
                },
              },
            },
            ...errorResponses(['unauthorized_caller', 'internal_error', 'gateway_misconfigured']),
          },
        },
      },
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
      },
      schemas: {
        TokenRequest: schema(tokenRequestBody),
        TokenResponse: schema(tokenResponseBody),
        TokenInvalidation: schema(tokenInvalidationBody),
        TokenInvalidationResponse: schema(tokenInvalidationResponseBody),
        Error: schema(errorResponseBody),
        Health: schema(healthResponseBody),
        Jwks: schema(jwksResponseBody),
        Readiness: schema(readinessResponseBody),
      },
    },
  };
}
