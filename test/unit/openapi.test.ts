import { readFile } from 'node:fs/promises';
import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { API_ERRORS } from '#lib/http/api-errors.ts';
import { openApiDocument } from '#lib/http/openapi.ts';
import { requesterOpenApiDocument, requesterSwagger2Document } from '#lib/http/openapi-requester.ts';
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

/** Strings without maxLength and integers without a format and tight bounds: unfit for fixed COBOL fields. */
function unboundedFields(document: unknown): string[] {
  return [...nodes(document)]
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
}

/** `METHOD path` of every operation. */
const operations = (document: Record<string, unknown>) =>
  Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, byMethod]) =>
    Object.keys(byMethod).map((method) => `${method.toUpperCase()} ${path}`),
  );

describe('the requester documents (zosConnect-3.0: OpenAPI 3.0; zosConnect-2.0 zconbt: OpenAPI 2.0)', () => {
  const generations = [
    {
      file: 'docs/openapi-requester.json',
      build: requesterOpenApiDocument,
      version: /^3\.0\./,
      key: 'openapi',
    },
    {
      file: 'docs/openapi-requester-swagger2.json',
      build: requesterSwagger2Document,
      version: /^2\.0$/,
      key: 'swagger',
    },
  ] as const;

  for (const { file, build, version, key } of generations) {
    describe(file, () => {
      const document = () => build(VERSION);

      it('is a valid document of its OpenAPI version', async () => {
        // Act
        const result = await validate(structuredClone(document()) as never);

        // Assess
        expect(result.valid ? [] : result.errors).toEqual([]);
        expect(document()[key]).toMatch(version);
      });

      it('matches the committed file (run npm run openapi after changing a schema)', async () => {
        // Act
        const committed = JSON.parse(await readFile(file, 'utf8'));

        // Assess
        expect(committed).toEqual(document());
      });

      it('holds only what a program calls: POST /v1/token and POST /v1/token/invalidate, tagged', () => {
        // Act
        const paths = document().paths as Record<string, Record<string, { tags?: string[] }>>;
        const untagged = Object.values(paths).flatMap((byMethod) =>
          Object.values(byMethod).filter((operation) => !operation.tags?.length),
        );

        // Assess: no facade (z/OS Connect calls it itself; zconbt supports no form parameters), no DELETE
        // with a body (OpenAPI 3.0: tools ignore it; CICS cannot send it).
        expect(operations(document())).toEqual(['POST /v1/token', 'POST /v1/token/invalidate']);
        expect(untagged).toEqual([]);
      });

      it('bounds every string with maxLength and every integer with a format or tight bounds (fixed COBOL fields)', () => {
        // Assess
        expect(unboundedFields(document())).toEqual([]);
      });
    });
  }

  it("describes the same schemas in both generations (one source: the handlers' zod schemas)", () => {
    // Prepare
    const v3 = requesterOpenApiDocument(VERSION) as { components: { schemas: unknown } };
    const v2 = requesterSwagger2Document(VERSION) as { definitions: unknown };

    // Act
    const v2AsV3 = JSON.parse(
      JSON.stringify(v2.definitions).replaceAll('#/definitions/', '#/components/schemas/'),
    );

    // Assess
    expect(v2AsV3).toEqual(v3.components.schemas);
  });

  it('answers with the same status codes as the full document, per operation', () => {
    // Prepare
    type Paths = Record<string, Record<string, { responses: Record<string, unknown> }>>;
    const full = openApiDocument(VERSION).paths as Paths;

    // Act
    const statuses = (paths: Paths) =>
      Object.fromEntries(
        Object.entries(paths).map(([path, byMethod]) => [
          path,
          Object.keys(byMethod.post?.responses ?? {}).sort(),
        ]),
      );
    const v3 = statuses(requesterOpenApiDocument(VERSION).paths as Paths);
    const v2 = statuses(requesterSwagger2Document(VERSION).paths as Paths);

    // Assess
    expect(v3).toEqual({
      '/v1/token': Object.keys(full['/v1/token']!.post!.responses).sort(),
      '/v1/token/invalidate': Object.keys(full['/v1/token/invalidate']!.post!.responses).sort(),
    });
    expect(v2).toEqual(v3);
  });
});

describe('POST /v1/token/invalidate (CICS cannot send a body with DELETE)', () => {
  type Operation = { operationId: string; requestBody: unknown; responses: Record<string, unknown> };
  const documents = {
    'docs/openapi.json': () => openApiDocument(VERSION),
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
