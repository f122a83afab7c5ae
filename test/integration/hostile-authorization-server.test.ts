import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGateway, type Gateway } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import { tokenHandler } from '#lib/http/handlers.ts';
import type { HttpResult } from '#lib/http/middleware.ts';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { httpApiEvent, lambdaContext } from '#test/support/api-gateway-events.ts';
import {
  type HostileAuthorizationServer,
  startHostileAuthorizationServer,
  streamed,
} from '#test/support/hostile-authorization-server.ts';

const API_KEY = 'hostile-test-key-5c1f0e2d9b8a4c3e';
const FIFTY_MB = 50 * 1024 * 1024;

let dir: string;
let hostile: HostileAuthorizationServer;
let gateway: Gateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hostile-'));
  hostile = await startHostileAuthorizationServer();
});

afterAll(async () => {
  await hostile?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// A fresh gateway (and so an empty cache) per test: what one answer leaves behind is asserted per test.
beforeEach(() => {
  const { config } = parseConfig({
    environment: 'development',
    signingKeys: { primary: { type: 'local', path: join(dir, 'primary.json'), generate: true } },
    targets: {
      hostile: {
        tokenEndpoint: hostile.tokenEndpoint,
        grant: 'client_credentials',
        clientId: 'gw',
        clientAuthentication: { method: 'client_secret_post', secret: { value: 'gw-secret' } },
        maxRetries: 1,
      },
    },
    callers: {
      batch: {
        apiKeys: [{ sha256: apiKeyHash(API_KEY) }],
        targets: { hostile: { scopes: ['orders.read'] } },
      },
    },
  });
  gateway = createGateway(config, { audit: { record: () => undefined } });
});

const token = tokenHandler(async () => gateway);

async function request(): Promise<{ status: number; json: Record<string, unknown>; raw: HttpResult }> {
  const event: APIGatewayProxyEventV2 = httpApiEvent({
    method: 'POST',
    path: '/v1/token',
    body: { target: 'hostile', subject: 'BATCH01' },
    headers: { 'x-api-key': API_KEY },
  });
  const raw = (await token(event, lambdaContext())) as HttpResult;
  return { status: raw.statusCode ?? 200, json: JSON.parse(raw.body ?? '{}'), raw };
}

/** Resident set size in MB, for the test report only (memory is not asserted on: it is noisy). */
function rssMb(): number {
  return Math.round(process.memoryUsage().rss / 1024 / 1024);
}

const bearer = (accessToken: unknown, extra: Record<string, unknown> = {}) => ({
  status: 200,
  body: { access_token: accessToken, token_type: 'Bearer', expires_in: 600, ...extra },
});

describe('A hostile authorization server', () => {
  describe('cannot exhaust memory: reading stops after 64 KiB', () => {
    const cases = [
      {
        name: 'a 50 MB access_token',
        answer: {
          status: 200,
          body: streamed({
            prefix: '{"access_token":"',
            fill: 'A',
            suffix: '","token_type":"Bearer"}',
            bytes: FIFTY_MB,
          }),
        },
        code: 'upstream_unavailable',
        requests: 1,
      },
      {
        name: 'a 50 MB HTML page with 200',
        answer: {
          status: 200,
          contentType: 'text/html',
          body: streamed({ prefix: '<html>', fill: '<p>x</p>', bytes: FIFTY_MB }),
        },
        code: 'upstream_unavailable',
        requests: 1,
      },
      {
        name: 'a 50 MB HTML page with 500 (retried once, as an outage)',
        answer: {
          status: 500,
          contentType: 'text/html',
          body: streamed({ prefix: '<html>', fill: '<p>x</p>', bytes: FIFTY_MB }),
        },
        code: 'upstream_unavailable',
        requests: 2,
      },
      {
        name: 'a 50 MB error_description',
        answer: {
          status: 400,
          body: streamed({
            prefix: '{"error":"invalid_grant","error_description":"',
            fill: 'E',
            suffix: '"}',
            bytes: FIFTY_MB,
          }),
        },
        code: 'upstream_unavailable',
        requests: 1,
      },
    ];
    for (const { name, answer, code, requests } of cases) {
      it(`${name}: ${code}, the connection cut short, nothing cached`, async ({ annotate }) => {
        // Prepare
        hostile.answer(() => answer);
        const before = hostile.requests;
        const streamsBefore = hostile.streams.length;
        const rssBefore = rssMb();

        // Act
        const first = await request();
        const rssAfter = rssMb();
        const second = await request();

        // Assess
        await annotate(`RSS ${rssBefore} MB before, ${rssAfter} MB after (50 MB answer)`);
        console.info(`[hostile AS] ${name}: RSS ${rssBefore} MB -> ${rssAfter} MB`);
        expect({ status: first.status, error: first.json.error }).toEqual({ status: 502, error: code });
        expect(JSON.stringify(first.json).length).toBeLessThan(1024);
        const streams = hostile.streams.slice(streamsBefore, streamsBefore + requests);
        expect(streams).toHaveLength(requests);
        for (const stream of streams) {
          expect(stream.cutShort).toBe(true);
          expect(stream.written).toBeLessThan(FIFTY_MB / 2);
        }
        // Nothing was cached, a refusal included: the next request asks the server again.
        expect(second.status).toBe(502);
        expect(hostile.requests - before).toBe(2 * requests);
      });
    }
  });

  describe('cannot break the contract with a malformed token', () => {
    const refused: Array<[string, unknown]> = [
      ['an access token of 8193 characters', 'a'.repeat(8193)],
      ['an access token with CR LF (header injection)', 'abc\r\nSet-Cookie: x=1'],
      ['an access token with NUL', 'abc\u0000def'],
      ['an access token with non-ASCII', 'abc\u00e9'],
    ];
    for (const [name, accessToken] of refused) {
      it(`${name}: 502 upstream_unavailable, not cached`, async () => {
        // Prepare
        hostile.answer(() => bearer(accessToken));
        const before = hostile.requests;

        // Act
        const first = await request();
        const second = await request();

        // Assess
        expect({ status: first.status, error: first.json.error }).toEqual({
          status: 502,
          error: 'upstream_unavailable',
        });
        expect(first.raw.body).not.toContain('abc');
        expect(second.status).toBe(502);
        expect(hostile.requests - before).toBe(2);
      });
    }

    it('serves an access token of exactly 8192 characters', async () => {
      // Prepare
      hostile.answer(() => bearer('t'.repeat(8192)));

      // Act
      const response = await request();

      // Assess
      expect(response.status).toBe(200);
      expect(response.json.access_token).toBe('t'.repeat(8192));
    });
  });

  describe('cannot set an absurd lifetime', () => {
    const refused: Array<[string, unknown]> = [
      ['"600 seconds"', '600 seconds'],
      ['0 (already expired)', 0],
      ['-5', -5],
      ['3599.5', 3599.5],
      ['true', true],
    ];
    for (const [name, expiresIn] of refused) {
      it(`refuses expires_in ${name}: 502 upstream_unavailable`, async () => {
        // Prepare
        hostile.answer(() => bearer('opaque-token', { expires_in: expiresIn }));

        // Act
        const response = await request();

        // Assess
        expect({ status: response.status, error: response.json.error }).toEqual({
          status: 502,
          error: 'upstream_unavailable',
        });
      });
    }

    const accepted: Array<[string, unknown, number]> = [
      ['"600" (digits in a string, as some servers send)', '600', 600],
      ['1e12, clamped to a day', 1e12, 86_400],
    ];
    for (const [name, expiresIn, served] of accepted) {
      it(`reads expires_in ${name} as ${served}`, async () => {
        // Prepare
        hostile.answer(() => bearer('opaque-token', { expires_in: expiresIn }));

        // Act
        const response = await request();

        // Assess
        expect(response.status).toBe(200);
        expect(response.json.expires_in).toBe(served);
      });
    }
  });

  describe("cannot push its text into logs, the negative cache or the caller's answer", () => {
    it('cuts and cleans error_description (CR, LF, NUL) before anything keeps it', async () => {
      // Prepare: 60 KB, within the read bound, with line breaks that would forge log lines.
      const description = `line one\r\nFORGED LOG LINE\u0000${'x'.repeat(60_000)}`;
      hostile.answer(() => ({
        status: 400,
        body: { error: 'invalid_grant', error_description: description },
      }));
      const before = hostile.requests;
      const logged: string[] = [];
      const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logged.push(String(chunk));
        return true;
      });

      // Act
      let first: Awaited<ReturnType<typeof request>>;
      let second: Awaited<ReturnType<typeof request>>;
      try {
        first = await request();
        second = await request();
      } finally {
        stdout.mockRestore();
      }

      // Assess
      expect({ status: first.status, error: first.json.error }).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
      const shown = String(first.json.error_description);
      expect(shown).toContain('line one??FORGED LOG LINE?');
      expect(shown.length).toBeLessThan(400);
      // The refusal is remembered (negative cache) in its cleaned, cut form.
      expect(hostile.requests - before).toBe(1);
      expect(second.json.error_description).toBe(shown);
      // The repeat was answered from the negative cache, and says so; the first came from the server.
      expect(second.raw.headers?.['cache-status']).toBe('hit');
      expect(first.raw.headers?.['cache-status']).toBeUndefined();
      const logText = logged.join('');
      expect(logText).not.toContain('\\r\\nFORGED');
      expect(logText).not.toContain('x'.repeat(300));
    });
  });

  describe('cannot leave a token the caller can never get rid of', () => {
    it('does not cache a token whose granted scope the policy refuses: once the server is fixed, the next request reaches it', async () => {
      // Prepare: the server grants more than the caller may have, then is fixed.
      const before = hostile.requests;
      hostile.answer((n) => {
        const fixed = n - before > 1;
        return bearer(fixed ? 'token-fixed' : 'token-too-wide', {
          scope: fixed ? 'orders.read' : 'orders.read admin',
        });
      });

      // Act
      const refused = await request();
      const fixed = await request();

      // Assess
      expect({ status: refused.status, error: refused.json.error }).toEqual({
        status: 403,
        error: 'access_denied',
      });
      expect(hostile.requests - before).toBe(2);
      expect(fixed.status).toBe(200);
      expect(fixed.json).toMatchObject({ access_token: 'token-fixed', scope: 'orders.read' });
    });
  });

  describe('small contract points', () => {
    it('omits scope from the answer when nobody asked for one and the server granted none', async () => {
      // Prepare
      hostile.answer(() => bearer('no-scope-token'));

      // Act
      const response = await request();

      // Assess
      expect(response.status).toBe(200);
      expect(response.json.access_token).toBe('no-scope-token');
      expect(response.json).not.toHaveProperty('scope');
    });
  });
});
