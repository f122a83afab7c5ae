// docs/MAINFRAME.md is what a CICS team copies into a region: its copybooks must hold every value the
// OpenAPI documents allow, and its samples must retry exactly the codes the API says are transient.
// Both drift silently when a schema or an error code changes, so they are read from the page here.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { API_ERRORS } from '#lib/http/api-errors.ts';

type Schema = { maxLength?: number; format?: string; properties?: Record<string, Schema> };
type OpenApi = {
  components: { schemas: Record<string, Schema>; parameters: Record<string, { schema: Schema }> };
};

const readJson = async (path: string): Promise<OpenApi> => JSON.parse(await readFile(path, 'utf8'));

/** The COBOL blocks of the page, in order. */
async function cobolBlocks(): Promise<string[]> {
  const text = await readFile('docs/MAINFRAME.md', 'utf8');
  return [...text.matchAll(/```cobol\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/** `05 NAME PIC X(n).` items of a copybook: name -> n. */
function pictureLengths(copybook: string): Map<string, number> {
  const items = [...copybook.matchAll(/^\s+05 ([A-Z0-9-]+)\s+PIC X\((\d+)\)\./gm)];
  return new Map(items.map((item) => [item[1]!, Number(item[2])]));
}

/** The codes of the `WHEN` branches that fall through to the "transient: retry" comment. */
function retriedCodes(program: string): string[] {
  const evaluate = /EVALUATE ERROR-CODE\n([\s\S]*?)\*\s+Transient/.exec(program);
  return [...(evaluate?.[1] ?? '').matchAll(/WHEN '([a-z_]+)'/g)].map((match) => match[1]!);
}

const retryable = Object.entries(API_ERRORS)
  .filter(([, row]) => row.retryable)
  .map(([code]) => code);

describe('docs/MAINFRAME.md', () => {
  describe('the copybooks', () => {
    it('size JBGTOKC from docs/openapi-requester.json, field by field', async () => {
      // Prepare
      const { components } = await readJson('docs/openapi-requester.json');
      const { TokenRequest, TokenResponse, Error: ErrorBody } = components.schemas;
      const copybook = (await cobolBlocks()).find((block) => block.includes('JBGTOKC'))!;

      // Act
      const lengths = pictureLengths(copybook);

      // Assess
      expect(Object.fromEntries(lengths)).toEqual({
        'JBG-TARGET': TokenRequest!.properties!.target!.maxLength,
        'JBG-SUBJECT': TokenRequest!.properties!.subject!.maxLength,
        'JBG-SCOPE': TokenRequest!.properties!.scope!.maxLength,
        'ACCESS-TOKEN': TokenResponse!.properties!.access_token!.maxLength,
        'TOKEN-TYPE': TokenResponse!.properties!.token_type!.maxLength,
        'TOKEN-SCOPE': TokenResponse!.properties!.scope!.maxLength,
        'ERROR-CODE': ErrorBody!.properties!.error!.maxLength,
        'ERROR-DESCRIPTION': ErrorBody!.properties!.error_description!.maxLength,
        'REQUEST-ID': ErrorBody!.properties!.request_id!.maxLength,
      });
    });

    it('size JBGCALC from the proxy-mode parameters of docs/openapi.json', async () => {
      // Prepare
      const { components } = await readJson('docs/openapi.json');
      const { parameters } = components;
      const copybook = (await cobolBlocks()).find((block) => block.includes('JBGCALC -'))!;

      // Act
      const lengths = pictureLengths(copybook);

      // Assess
      expect(Object.fromEntries(lengths)).toEqual({
        'JBG-CALL-TARGET': parameters.target!.schema.maxLength,
        'JBG-CALL-PATH': parameters.path!.schema.maxLength,
        'JBG-CALL-SUBJECT': parameters['x-subject']!.schema.maxLength,
        'JBG-CALL-SUBJECT-TOKEN': parameters['x-subject-token']!.schema.maxLength,
        'JBG-CALL-REQUEST-ID': parameters['x-request-id']!.schema.maxLength,
        'ERROR-CODE': components.schemas.Error!.properties!.error!.maxLength,
        'ERROR-DESCRIPTION': components.schemas.Error!.properties!.error_description!.maxLength,
        'REQUEST-ID': components.schemas.Error!.properties!.request_id!.maxLength,
      });
    });

    it('hold the longest error code the gateway answers', async () => {
      // Prepare
      const copybook = (await cobolBlocks()).find((block) => block.includes('JBGTOKC'))!;

      // Act
      const longest = Math.max(...Object.keys(API_ERRORS).map((code) => code.length));

      // Assess
      expect(longest).toBeLessThanOrEqual(pictureLengths(copybook).get('ERROR-CODE')!);
    });
  });

  describe('the CICS WEB CONVERSE calls', () => {
    /**
     * Each `EXEC CICS WEB CONVERSE ... END-EXEC` of the page: its method, path and body. PATH is a data
     * area in the CICS reference, so the path is the VALUE of the data item it names, and PATHLENGTH is
     * `LENGTH OF` that item (its PIC X(n)).
     */
    async function converses() {
      const blocks = await cobolBlocks();
      return blocks.flatMap((block) =>
        [...block.matchAll(/EXEC CICS WEB CONVERSE([\s\S]*?)END-EXEC/g)].map(([, options]) => {
          const pathItem = /PATH\(([A-Z0-9-]+)\)/.exec(options!)?.[1];
          const declared = pathItem
            ? new RegExp(`${pathItem}\\s+PIC X\\((\\d+)\\)\\s+VALUE '([^']*)'`).exec(block)
            : null;
          const lengthOf = /PATHLENGTH\(LENGTH OF ([A-Z0-9-]+)\)/.exec(options!)?.[1];
          return {
            program: /PROGRAM-ID\. ([A-Z0-9]+)\./.exec(block)?.[1],
            method: /\b(GET|HEAD|POST|PUT|PATCH|OPTIONS|DELETE)\b/.exec(options!)?.[1],
            path: declared?.[2],
            pathLength: lengthOf === pathItem && declared ? Number(declared[1]) : Number.NaN,
            hasBody: /\bFROM\(/.test(options!),
          };
        }),
      );
    }

    it('send no message body with GET, HEAD or DELETE, which CICS as an HTTP client bars (INVREQ)', async () => {
      // Act
      const calls = await converses();
      const barred = calls.filter((call) => call.hasBody && ['GET', 'HEAD', 'DELETE'].includes(call.method!));

      // Assess
      expect(calls.length).toBeGreaterThan(3);
      expect(calls.every((call) => call.method !== undefined)).toBe(true);
      expect(barred).toEqual([]);
    });

    it("call JBGCALL's gateway paths with the methods docs/openapi-requester.json has, each PATHLENGTH its path's length", async () => {
      // Prepare
      const { paths } = JSON.parse(await readFile('docs/openapi-requester.json', 'utf8')) as {
        paths: Record<string, Record<string, unknown>>;
      };

      // Act
      const toGateway = (await converses()).filter(
        (call) => call.program === 'JBGCALL' && call.path?.startsWith('/v1/token'),
      );

      // Assess
      expect(toGateway.map((call) => `${call.method} ${call.path}`)).toEqual([
        'POST /v1/token',
        'POST /v1/token/invalidate',
      ]);
      for (const call of toGateway) {
        expect(paths[call.path!]?.[call.method!.toLowerCase()]).toBeDefined();
        expect(call.pathLength).toBe(call.path!.length);
      }
    });
  });

  describe('the proxy-mode program JBGONE', () => {
    it('retries every code the API marks retryable, except the invalidation-only cache_unavailable', async () => {
      // Prepare
      const program = (await cobolBlocks()).find((block) => block.includes('PROGRAM-ID. JBGONE.'))!;

      // Act
      const retried = retriedCodes(program);

      // Assess
      expect(retried.toSorted()).toEqual(retryable.filter((code) => code !== 'cache_unavailable').toSorted());
    });
  });
});
