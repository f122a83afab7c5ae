import { API_ERRORS, type ApiErrorCode } from './api-errors.ts';
import {
  CACHE_STATUS_HEADER,
  INVALIDATE_BY_POST_DESCRIPTION,
  INVALIDATION_ERRORS,
  schema,
  TOKEN_ERRORS,
} from './openapi.ts';
import { routeOf } from './routes.ts';
import {
  errorResponseBody,
  tokenInvalidationBody,
  tokenInvalidationResponseBody,
  tokenRequestBody,
  tokenResponseBody,
} from './schemas.ts';

// What a mainframe program calls, once, for both z/OS Connect API requester generations: the
// zosConnect-3.0 Gradle plug-in reads OpenAPI 3.0 (docs/openapi-requester.json), zosConnect-2.0's build
// toolkit zconbt reads OpenAPI 2.0 only (docs/openapi-requester-swagger2.json; IBM, "Using the build
// toolkit to generate artifacts for an API requester"). Left out: the RFC 6749 facade (z/OS Connect's
// own OAuth client calls it, never a program, and zconbt supports no form parameters), DELETE /v1/token
// (OpenAPI 3.0 says tools ignore a DELETE body; CICS cannot send one: POST /v1/token/invalidate does
// the same) and proxy mode (below /v1/call/{target}/ the contract is the proxied API's own).

const SCHEMAS = {
  TokenRequest: tokenRequestBody,
  TokenResponse: tokenResponseBody,
  TokenInvalidation: tokenInvalidationBody,
  TokenInvalidationResponse: tokenInvalidationResponseBody,
  Error: errorResponseBody,
} as const;
type SchemaName = keyof typeof SCHEMAS;

type Operation = {
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly request: SchemaName;
  readonly ok: { readonly description: string; readonly schema: SchemaName; readonly cacheStatus?: true };
  readonly errors: ApiErrorCode[];
};

const OPERATIONS: readonly Operation[] = [
  {
    path: routeOf('getToken').path,
    operationId: 'getToken',
    summary: 'Obtain an access token for an end user',
    request: 'TokenRequest',
    ok: { description: 'The access token', schema: 'TokenResponse', cacheStatus: true },
    errors: TOKEN_ERRORS,
  },
  {
    path: routeOf('invalidateTokenByPost').path,
    operationId: 'invalidateTokenByPost',
    summary: 'Drop a cached token an API refused (401), then ask again once',
    description: INVALIDATE_BY_POST_DESCRIPTION,
    request: 'TokenInvalidation',
    ok: { description: 'Whether the cached token was dropped', schema: 'TokenInvalidationResponse' },
    errors: INVALIDATION_ERRORS,
  },
];

/** The error responses, by status: one COBOL response structure per status. */
function errorsByStatus(codes: ApiErrorCode[]): Array<[string, string]> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes) {
    const status = API_ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return [...byStatus].map(([status, list]) => [
    String(status),
    list.map((code) => `\`${code}\``).join(', '),
  ]);
}

const INFO = (version: string, generation: string) => ({
  title: 'jwt-bearer-gateway (API requester)',
  version,
  description:
    `Access tokens for an end user, for mainframe API requesters (${generation}). POST /v1/token (JSON); ` +
    'after an API refused the token (401), POST /v1/token/invalidate, which CICS can send where it ' +
    'cannot send DELETE with a body. See docs/MAINFRAME.md.',
});

const TAGS = [{ name: 'token', description: 'The JSON token API' }];
const SECURITY = [{ apiKey: [] }, { basic: [] }];

/**
 * The OpenAPI 3.0 document for the zosConnect-3.0 API requester Gradle plug-in: only what a mainframe
 * program calls. Every string has a maxLength and every integer a format or tight bounds, so each
 * generated field has a fixed size; operations are tagged. docs/openapi-requester.json (npm run openapi).
 */
export function requesterOpenApiDocument(version: string): Record<string, unknown> {
  const json = (name: SchemaName) => ({
    'application/json': { schema: { $ref: `#/components/schemas/${name}` } },
  });
  const operation = (op: Operation) => ({
    operationId: op.operationId,
    tags: ['token'],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: SECURITY,
    requestBody: { required: true, content: json(op.request) },
    responses: {
      '200': {
        description: op.ok.description,
        ...(op.ok.cacheStatus ? { headers: CACHE_STATUS_HEADER } : {}),
        content: json(op.ok.schema),
      },
      ...Object.fromEntries(
        errorsByStatus(op.errors).map(([status, description]) => [
          status,
          { description, content: json('Error') },
        ]),
      ),
    },
  });
  return {
    openapi: '3.0.3',
    info: INFO(version, 'zosConnect-3.0: OpenAPI 3.0'),
    tags: TAGS,
    paths: Object.fromEntries(OPERATIONS.map((op) => [op.path, { post: operation(op) }])),
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        basic: { type: 'http', scheme: 'basic', description: 'The caller OAuth client id and secret.' },
      },
      schemas: Object.fromEntries(
        Object.entries(SCHEMAS).map(([name, definition]) => [name, schema(definition)]),
      ),
    },
  };
}

/** The JSON Schema keywords an OpenAPI 2.0 Schema Object has (a subset of draft 4), per keyword. */
const SWAGGER2_SCHEMA_KEYWORDS = new Set([
  'type',
  'format',
  'description',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  '$ref',
]);

/**
 * One OpenAPI 3.0 schema (as zod writes it) as an OpenAPI 2.0 Schema Object. Throws on a keyword 2.0
 * lacks (nullable, oneOf, ...) rather than dropping it silently: the schema would then say less than
 * the handler checks.
 */
function swagger2Schema(node: unknown, where: string): unknown {
  if (Array.isArray(node)) return node.map((item, index) => swagger2Schema(item, `${where}[${index}]`));
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!SWAGGER2_SCHEMA_KEYWORDS.has(key)) throw new Error(`${where}: "${key}" has no OpenAPI 2.0 form`);
    if (key === 'properties') {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([name, property]) => [
          name,
          swagger2Schema(property, `${where}.${name}`),
        ]),
      );
    } else if (key === '$ref') {
      out[key] = (value as string).replace('#/components/schemas/', '#/definitions/');
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = swagger2Schema(value, `${where}.${key}`);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/**
 * The OpenAPI 2.0 (Swagger) document for zosConnect-2.0's build toolkit `zconbt`, from the same
 * operations and schemas as requesterOpenApiDocument. docs/openapi-requester-swagger2.json.
 */
export function requesterSwagger2Document(version: string): Record<string, unknown> {
  const ref = (name: SchemaName) => ({ $ref: `#/definitions/${name}` });
  const cacheStatus = Object.fromEntries(
    Object.entries(CACHE_STATUS_HEADER).map(([name, header]) => [
      name,
      { description: header.description, ...header.schema },
    ]),
  );
  const operation = (op: Operation) => ({
    operationId: op.operationId,
    tags: ['token'],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: SECURITY,
    consumes: ['application/json'],
    produces: ['application/json'],
    parameters: [{ in: 'body', name: 'body', required: true, schema: ref(op.request) }],
    responses: {
      '200': {
        description: op.ok.description,
        ...(op.ok.cacheStatus ? { headers: cacheStatus } : {}),
        schema: ref(op.ok.schema),
      },
      ...Object.fromEntries(
        errorsByStatus(op.errors).map(([status, description]) => [
          status,
          { description, schema: ref('Error') },
        ]),
      ),
    },
  });
  return {
    swagger: '2.0',
    info: INFO(version, 'zosConnect-2.0 build toolkit zconbt: OpenAPI 2.0'),
    schemes: ['https'],
    tags: TAGS,
    paths: Object.fromEntries(OPERATIONS.map((op) => [op.path, { post: operation(op) }])),
    securityDefinitions: {
      apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      basic: { type: 'basic', description: 'The caller OAuth client id and secret.' },
    },
    definitions: Object.fromEntries(
      Object.entries(SCHEMAS).map(([name, definition]) => [name, swagger2Schema(schema(definition), name)]),
    ),
  };
}
