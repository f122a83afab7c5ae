import { readFile } from 'node:fs/promises';
import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { API_ERRORS } from '#lib/http/api-errors.ts';
import { openApiDocument } from '#lib/http/openapi.ts';
import { requesterOpenApiDocument } from '#lib/http/openapi-requester.ts';
import { tokenRequestBody } from '#lib/http/schemas.ts';
import { VERSION } from '#lib/version.ts';

type Schema = {
  properties?: Record<string, { type?: string; maxLength?: number }>;
  additionalProperties?: unknown;
};

describe('openApiDocument', () => {
  it('is a valid OpenAPI 3 document', async () => {
    // Act
    const result = await validate(structuredClone(openApiDocument(VERSION)) as never);

    // Assess
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  it('matches docs/openapi.json (run npm run openapi after changing a schema)', async () => {
    // Act
    const committed = JSON.parse(await readFile('docs/openapi.json', 'utf8'));

    // Assess
    expect(committed).toEqual(openApiDocument(VERSION));
  });

  it('gives every string field of the request, response and error bodies a maxLength (for COBOL copybooks)', () => {
    // Prepare
    const schemas = (openApiDocument(VERSION).components as { schemas: Record<string, Schema> }).schemas;

    // Act
    const unbounded = ['TokenRequest', 'TokenResponse', 'TokenInvalidation', 'Error', 'Health'].flatMap(
      (name) =>
        Object.entries(schemas[name]?.properties ?? {})
          .filter(([, property]) => property.type === 'string' && property.maxLength === undefined)
          .map(([field]) => `${name}.${field}`),
    );

    // Assess
    expect(unbounded).toEqual([]);
  });

  it('keeps the request schema flat and closed, as the handler validates it', () => {
    // Prepare
    const schema = (openApiDocument(VERSION).components as { schemas: Record<string, Schema> }).schemas
      .TokenRequest!;

    // Assess
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties ?? {})).toEqual(Object.keys(tokenRequestBody.shape));
    expect(Object.values(schema.properties ?? {}).every((property) => property.type === 'string')).toBe(true);
  });

  it('documents every error code the API can return', () => {
    // Act
    const text = JSON.stringify(openApiDocument(VERSION));

    // Assess
    const undocumented = Object.keys(API_ERRORS).filter(
      // not_found and method_not_allowed come from the local runtime; API Gateway answers those itself.
      (code) => !['not_found', 'method_not_allowed'].includes(code) && !text.includes(`\`${code}\``),
    );
    expect(undocumented).toEqual([]);
  });
});

/** Every node of a JSON document with its path. */
function* nodes(value: unknown, path = '#'): Generator<[string, Record<string, unknown>]> {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) yield* nodes(item, `${path}/${index}`);
  } else if (value && typeof value === 'object') {
    yield [path, value as Record<string, unknown>];
    for (const [key, item] of Object.entries(value)) yield* nodes(item, `${path}/${key}`);
  }
}

describe('requesterOpenApiDocument', () => {
  const document = () => requesterOpenApiDocument(VERSION);

  it('is a valid OpenAPI 3.0 document', async () => {
    // Act
    const result = await validate(structuredClone(document()) as never);

    // Assess
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(document().openapi).toMatch(/^3\.0\./);
  });

  it('matches docs/openapi-requester.json (run npm run openapi after changing a schema)', async () => {
    // Act
    const committed = JSON.parse(await readFile('docs/openapi-requester.json', 'utf8'));

    // Assess
    expect(committed).toEqual(document());
  });

  it('holds only what a requester calls: /v1/token, its POST invalidation and the RFC 6749 facade, every operation tagged', () => {
    // Act
    const paths = document().paths as Record<string, Record<string, { tags?: string[] }>>;
    const untagged = Object.entries(paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => !operation.tags?.length)
        .map(([method]) => `${method} ${path}`),
    );

    // Assess
    expect(Object.keys(paths).sort()).toEqual([
      '/oauth2/{target}/token',
      '/v1/token',
      '/v1/token/invalidate',
    ]);
    expect(untagged).toEqual([]);
  });

  it('bounds every string with maxLength and every integer with a format or tight bounds (fixed COBOL fields)', () => {
    // Act
    const unbounded = [...nodes(document())]
      .filter(([, node]) => node.type === 'string' || node.type === 'integer')
      .filter(([, node]) =>
        node.type === 'string'
          ? typeof node.maxLength !== 'number'
          : !['int32', 'int64'].includes(node.format as string) ||
            typeof node.minimum !== 'number' ||
            typeof node.maximum !== 'number' ||
            (node.maximum as number) > 2 ** 53,
      )
      .map(([path]) => path);

    // Assess
    expect(unbounded).toEqual([]);
  });
});

describe('POST /v1/token/invalidate (CICS cannot send a body with DELETE)', () => {
  type Operation = { operationId: string; requestBody: unknown; responses: Record<string, unknown> };
  const documents = {
    'docs/openapi.json': () => openApiDocument(VERSION),
    'docs/openapi-requester.json': () => requesterOpenApiDocument(VERSION),
  };

  for (const [name, document] of Object.entries(documents)) {
    describe(name, () => {
      it('has the same request body and answers as DELETE /v1/token, cache_unavailable included', () => {
        // Prepare
        const paths = document().paths as Record<string, Record<string, Operation>>;

        // Act
        const byDelete = paths['/v1/token']?.delete;
        const byPost = paths['/v1/token/invalidate']?.post;

        // Assess
        expect(byPost?.operationId).toBe('invalidateTokenByPost');
        expect(byPost?.requestBody).toEqual(byDelete?.requestBody);
        expect(byPost?.responses).toEqual(byDelete?.responses);
        expect(Object.keys(paths['/v1/token/invalidate'] ?? {})).toEqual(['post']);
        expect(JSON.stringify(byPost?.responses['503'])).toContain('`cache_unavailable`');
      });
    });
  }
});

describe('VERSION', () => {
  it('equals package.json version', async () => {
    expect(VERSION).toBe(JSON.parse(await readFile('package.json', 'utf8')).version);
  });
});
