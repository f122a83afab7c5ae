import { z } from 'zod';
import { oauthTokenForm } from '../facade/token-form.ts';
import { MAX_IDENTITY_TOKEN_LENGTH } from '../policy/identity-token.ts';
import { API_ERRORS, type ApiErrorCode } from './api-errors.ts';
import { type OperationName, ROUTES } from './routes.ts';
import {
  errorResponseBody,
  healthResponseBody,
  jwksResponseBody,
  oauthErrorResponseBody,
  oauthTokenResponseBody,
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

export const schema = (definition: z.core.$ZodType) =>
  z.toJSONSchema(definition, { target: 'openapi-3.0', io: 'output' });

function errorResponses(codes: ApiErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes)
    byStatus.set(API_ERRORS[code].status, [...(byStatus.get(API_ERRORS[code].status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      {
        description: list
          .map(
            (code) =>
              `\`${code}\`${API_ERRORS[code].retryable ? ' (retryable)' : ''}: ${API_ERRORS[code].meaning}`,
          )
          .join(' '),
        content: json('Error'),
        ...(list.some((code) => retryAfterOf(code) !== undefined)
          ? {
              headers: {
                'Retry-After': {
                  description: 'Seconds after which to send the request again (RFC 9110 10.2.3).',
                  schema: { type: 'integer', minimum: 1, maximum: 3600 },
                },
              },
            }
          : {}),
      },
    ]),
  );
}

function retryAfterOf(code: ApiErrorCode): number | undefined {
  return (API_ERRORS[code] as { retryAfterSeconds?: number }).retryAfterSeconds;
}

/** What any request to /v1/token can meet before an exchange: its body, its caller, the policy. */
const REQUEST_ERRORS: ApiErrorCode[] = [
  'invalid_request',
  'ebcdic_body',
  'unauthorized_caller',
  'access_denied',
  'unknown_target',
  'payload_too_large',
  'unsupported_media_type',
  'internal_error',
  'gateway_misconfigured',
  'secrets_unavailable', // an API key hash held in Secrets Manager
  'upstream_timeout', // the invocation itself ran out of time
];

/** POST also signs and exchanges. */
export const TOKEN_ERRORS: ApiErrorCode[] = [
  ...REQUEST_ERRORS,
  'invalid_grant',
  'invalid_scope',
  'upstream_misconfigured',
  'target_misconfigured',
  'upstream_unavailable',
  'upstream_busy',
  'signing_unavailable',
];

/** An invalidation also drops the token from the shared cache, which may be unreachable. */
export const INVALIDATION_ERRORS: ApiErrorCode[] = [...REQUEST_ERRORS, 'cache_unavailable'];

/** A proxied call meets the token errors, then its own: the target's allow-list, the API's failures. */
const CALL_ERRORS: ApiErrorCode[] = [
  ...TOKEN_ERRORS.filter((code) => code !== 'unsupported_media_type'),
  'invalid_identity_token',
  'proxy_not_enabled',
  'call_not_allowed',
  'method_not_allowed',
  'api_unavailable',
  'api_timeout',
  'api_response_too_large',
];

const GATEWAY_ERROR_HEADER = {
  'x-gateway-error': {
    description: "true: the gateway answered this itself. Absent on the proxied API's own answers.",
    schema: { type: 'string', enum: ['true'], maxLength: 4 },
  },
};

/** The parameters every proxy-mode operation has, shared through components. */
const CALL_PARAMETERS = [
  {
    name: 'target',
    in: 'path',
    required: true,
    description: 'A target whose configuration has `proxy`.',
    schema: { type: 'string', maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
  },
  {
    name: 'path',
    in: 'path',
    required: true,
    description:
      "The path below the API's base URL: one or more segments, `/` included (API Gateway " +
      '`{path+}`). No `.` or `..` segments, empty segments, or encoded `/`, `\\` or `%`. ' +
      'The query string is passed on as sent. Generators encode a `/` inside a path parameter as ' +
      "`%2F`, which is refused: for an API requester, describe the API's own paths below " +
      '/v1/call/{target} in a document of your own.',
    schema: { type: 'string', maxLength: 2048 },
  },
  {
    name: 'x-subject',
    in: 'header',
    required: false,
    description:
      "The end user's id, e.g. the RACF user id of the CICS task owner (surrounding blanks are " +
      'ignored). Send this or `x-subject-token`, not both; refused for a caller whose configuration ' +
      'requires identity tokens.',
    schema: { type: 'string', minLength: 1, maxLength: 256 },
  },
  {
    name: 'x-subject-token',
    in: 'header',
    required: false,
    description:
      'Instead of `x-subject`: a JWT the mainframe signed for the end user (Liberty jwtBuilder, ' +
      "RACF), verified against the caller's trusted issuer (`oauth.identityTokens`) as the " +
      'token-exchange facade verifies a subject_token; its `sub` is the end user. Never forwarded.',
    schema: { type: 'string', minLength: 1, maxLength: MAX_IDENTITY_TOKEN_LENGTH },
  },
  {
    name: 'x-request-id',
    in: 'header',
    required: false,
    description: "Passed to the API; the gateway's request id when absent.",
    schema: { type: 'string', maxLength: 128 },
  },
];

/** One operation of proxy mode; every method has the same shape. */
function callOperation(method: string): Record<string, unknown> {
  return {
    operationId: `call${method[0]!.toUpperCase()}${method.slice(1)}`,
    summary: `${method.toUpperCase()} the target's API as the end user (proxy mode)`,
    description:
      "The gateway obtains the end user's token as POST /v1/token does, sends the request to the " +
      "target's API with `Authorization: <token_type> <token>` and returns the API's answer unchanged. " +
      'The caller credentials, `x-subject`, `x-subject-token` and hop-by-hop headers are not forwarded. On a 401 from the ' +
      "API a token older than the target's `proxy.reissueAfterSeconds` is replaced and the call sent once more " +
      'with the new one; a younger token is kept and the 401 returned.',
    security: [{ apiKey: [] }, {}],
    parameters: CALL_PARAMETERS.map(({ name }) => ({ $ref: `#/components/parameters/${name}` })),
    ...(method === 'get' || method === 'head' || method === 'options'
      ? {}
      : {
          requestBody: {
            required: false,
            description: "Any media type, up to 4 MiB (or the target's maxRequestBytes).",
            content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
          },
        }),
    responses: {
      default: {
        description:
          "The API's own answer: its status, headers (hop-by-hop ones removed) and body, unchanged; " +
          'no `x-gateway-error` header.',
        content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
      },
      ...Object.fromEntries(
        Object.keys(errorResponses(CALL_ERRORS)).map((status) => [
          status,
          { $ref: `#/components/responses/CallError${status}` },
        ]),
      ),
    },
  };
}

/** The gateway's own refusals of a call, one per status, with `x-gateway-error`. */
function callErrorResponses(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(errorResponses(CALL_ERRORS)).map(([status, response]) => [
      `CallError${status}`,
      { ...(response as object), headers: GATEWAY_ERROR_HEADER },
    ]),
  );
}

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
function oauthTokenOperation(refs: { form: string; response: string; error: string }) {
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

/** Why `POST /v1/token/invalidate` exists, in both documents. */
export const INVALIDATE_BY_POST_DESCRIPTION =
  'The same request body, policy, answers and error codes as DELETE /v1/token, for clients that cannot ' +
  'send a body with DELETE: CICS as an HTTP client bars a message body on DELETE (IBM, "HTTP method ' +
  'reference for CICS web support").';

/** `DELETE /v1/token` and `POST /v1/token/invalidate`: one operation, two routes. */
function invalidationOperation(operationId: 'invalidateToken' | 'invalidateTokenByPost') {
  return {
    operationId,
    summary: 'Drop a cached token that an API refused (only if it is still the cached one)',
    ...(operationId === 'invalidateTokenByPost' ? { description: INVALIDATE_BY_POST_DESCRIPTION } : {}),
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
      ...errorResponses(INVALIDATION_ERRORS),
    },
  };
}

/** The OpenAPI 3 document of the v1 API, generated from the same schemas the handlers validate with. */
/** Each route's operation (lib/http/routes.ts names it), given the route's method. */
const OPERATIONS: Readonly<Record<OperationName, (method: string) => Record<string, unknown>>> = {
  getToken: () => ({
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
  }),
  invalidateToken: () => invalidationOperation('invalidateToken'),
  invalidateTokenByPost: () => invalidationOperation('invalidateTokenByPost'),
  getReadiness: () => ({
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
              oneOf: [{ $ref: '#/components/schemas/Readiness' }, { $ref: '#/components/schemas/Error' }],
            },
          },
        },
      },
      ...errorResponses(['unauthorized_caller', 'internal_error', 'gateway_misconfigured']),
    },
  }),
  call: callOperation,
  oauthToken: () =>
    oauthTokenOperation({
      form: 'OAuthTokenRequest',
      response: 'OAuthTokenResponse',
      error: 'OAuthError',
    }).post,
  getJwks: () => ({
    operationId: 'getJwks',
    summary: 'The public signing keys (RFC 7517), for authorization servers to trust',
    responses: {
      '200': {
        description: 'JWK Set',
        content: json('Jwks'),
      },
      ...errorResponses(['signing_unavailable', 'internal_error']),
    },
  }),
  getHealth: () => ({
    operationId: 'getHealth',
    summary: 'Liveness and version',
    responses: {
      '200': {
        description: 'Healthy',
        content: json('Health'),
      },
    },
  }),
};

/** What proxy mode's `ANY` stands for in the document: one operation per method. */
const ANY_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];

/** The document's paths, one per route of the table (`{path+}` is OpenAPI's `{path}`). */
function paths(): Record<string, Record<string, unknown>> {
  const result: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const path = route.path.replace('+}', '}');
    const item = result[path] ?? {};
    result[path] = item;
    const methods = route.method === 'ANY' ? ANY_METHODS : [route.method.toLowerCase()];
    for (const method of methods) item[method] = OPERATIONS[route.operation](method);
  }
  return result;
}

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
    paths: paths(),
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        basic: { type: 'http', scheme: 'basic', description: 'The caller OAuth client id and secret.' },
      },
      parameters: Object.fromEntries(CALL_PARAMETERS.map((parameter) => [parameter.name, parameter])),
      responses: callErrorResponses(),
      schemas: {
        TokenRequest: schema(tokenRequestBody),
        TokenResponse: schema(tokenResponseBody),
        TokenInvalidation: schema(tokenInvalidationBody),
        TokenInvalidationResponse: schema(tokenInvalidationResponseBody),
        Error: schema(errorResponseBody),
        Health: schema(healthResponseBody),
        Jwks: schema(jwksResponseBody),
        Readiness: schema(readinessResponseBody),
        OAuthTokenRequest: schema(oauthTokenForm),
        OAuthTokenResponse: schema(oauthTokenResponseBody),
        OAuthError: schema(oauthErrorResponseBody),
      },
    },
  };
}
