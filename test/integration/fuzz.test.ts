import { mkdtemp, rm } from 'node:fs/promises';
import { METHODS, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import { API_ERRORS, type ApiErrorCode } from '#lib/http/api-errors.ts';
import { errorResponseBody } from '#lib/http/schemas.ts';
import {
  DEMO_API_AUDIENCE,
  type EmbeddedDefaults,
  startEmbeddedDefaults,
} from '#lib/local/embedded-defaults.ts';
import { createLambdaHttpServer, gatewayRoutes } from '#lib/local/lambda-http-server.ts';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { listen } from '#test/support/ports.ts';

/**
 * Random requests over real HTTP through the local server with the routes `npm start` serves, behind
 * them the embedded demo authorization server. Whatever arrives, the answer is never a 5xx, and every
 * refusal is the API's error body with a documented code and its documented status.
 */

const DEMO_KEY = 'fuzz-demo-key-1b9d7c3e5a';
/** A caller that may ask for any subject, so random subjects reach the authorization server. */
const OPEN_KEY = 'fuzz-open-key-4e2a8c6f0d';
const CLIENT_SECRET = 'fuzz-client-secret-7c1e9a';
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_101);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

let dir: string;
let server: Server;
let port: number;
let defaults: EmbeddedDefaults;
let gateway: Gateway;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  dir = await mkdtemp(join(tmpdir(), 'fuzz-'));
  server = createLambdaHttpServer(gatewayRoutes(async () => gateway));
  port = Number(new URL(await listen(server)).port);
  defaults = await startEmbeddedDefaults({
    stateDirectory: dir,
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    apiKey: DEMO_KEY,
    clientSecret: CLIENT_SECRET,
  });
  const input = defaults.config;
  const { config } = parseConfig(
    {
      ...input,
      callers: {
        ...input.callers,
        open: {
          apiKeys: [{ sha256: apiKeyHash(OPEN_KEY) }],
          targets: { demo: { subjects: '^[\\s\\S]*$', scopes: ['openid', 'demo.read', 'demo.write'] } },
        },
      },
    },
    'fuzz',
  );
  gateway = createGateway(config, { env: defaults.env, audit: { record: () => undefined } });
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await defaults?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer | undefined;
}

interface Received {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * One request on its own connection, with node:http: fetch refuses some methods and header values. The
 * body is always framed by a content-length: Node's client sends a GET or HEAD body unframed otherwise.
 */
function send({ method, path, headers, body }: Sent): Promise<Received> {
  const framed = body === undefined ? headers : { ...headers, 'content-length': String(body.length) };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: framed, agent: false, timeout: 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    // Node's client hands the answer to a CONNECT over as a raw socket, whatever its status.
    req.on('connect', (res, socket, head) => {
      const chunks: Buffer[] = [head];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      socket.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The response is below 500 and, when it refuses, is the documented error body. */
function expectDocumented(sent: Pick<Sent, 'method'>, received: Received): void {
  expect(received.status, received.body).toBeGreaterThanOrEqual(200);
  expect(received.status, received.body).toBeLessThan(500);
  if (received.status < 300 || sent.method === 'HEAD') return;
  const body = errorResponseBody.parse(JSON.parse(received.body));
  expect(API_ERRORS[body.error as ApiErrorCode].status).toBe(received.status);
  expect(body.request_id.length).toBeGreaterThan(0);
  if (received.headers['x-request-id'] !== undefined) {
    expect(body.request_id).toBe(received.headers['x-request-id']);
  }
}

const ROUTES = ['/v1/token', '/health', '/.well-known/jwks.json', '/openapi.json', '/v1/call/demo/whoami'];

const method = fc.oneof(
  { weight: 8, arbitrary: fc.constant('POST') },
  { weight: 4, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,11}$/) },
);

const path = fc.oneof(
  { weight: 8, arbitrary: fc.constant('/v1/token') },
  { weight: 3, arbitrary: fc.constantFrom(...ROUTES) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '/',
      '*',
      '/v1/token/',
      '/V1/TOKEN',
      '//v1/token',
      '/v1/../v1/token',
      '/v1/token?target=demo&subject=CICSUSR1',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/v1/token%00',
      'http://[',
      'http://example.com/v1/token',
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...ROUTES, '', '/'), fc.stringMatching(/^[\x21-\x7e]{0,40}$/))
      .map(([route, rest]) => `${route}${rest}`),
  },
);

/** What Node's client sends as a header value: no CR, LF or NUL; Latin-1 beyond ASCII. */
const headerValue = fc.stringMatching(/^[\t\x20-\x7e\x80-\xff]{0,64}$/);

const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/json;',
    'application/json, text/plain',
    'application/jsonp',
    'application/problem+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    '',
    ';',
  ),
  headerValue,
);

const apiKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(DEMO_KEY, OPEN_KEY) },
  { weight: 2, arbitrary: headerValue },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', `${DEMO_KEY},${OPEN_KEY}`, ` ${OPEN_KEY} `, 'k'.repeat(20_000)),
  },
);

const otherHeaders = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'expect',
      'upgrade',
      'te',
      'accept',
      'accept-encoding',
      'content-encoding',
      'authorization',
      'cookie',
      'x-forwarded-for',
      'x-amzn-trace-id',
      'x-request-id',
      'X-Api-Key',
    ),
    fc.stringMatching(/^x-[a-z0-9-]{1,15}$/),
  ),
  headerValue,
  { maxKeys: 4 },
);

const headers = fc
  .record(
    { 'content-type': contentType, 'x-api-key': apiKey, other: otherHeaders },
    { requiredKeys: ['other'] },
  )
  .map(({ other, ...named }) => {
    const all: Record<string, string> = { ...other };
    for (const [name, value] of Object.entries(named)) if (value !== undefined) all[name] = value;
    return all;
  });

const printable = fc.string({ unit: 'grapheme', maxLength: 80 });
const subject = fc.oneof(
  fc.constantFrom('CICSUSR1', 'cicsusr1', 'CICSUSR12', 'A$$B', "X$'", '$&', ' ', '\u2028', 'A'.repeat(257)),
  printable,
  fc.string({ unit: 'binary', maxLength: 80 }),
);
const tokenRequest = fc.record(
  {
    target: fc.oneof(fc.constantFrom('demo', 'constructor', 'nope', ''), printable),
    subject,
    scope: fc.oneof(fc.constantFrom('demo.read', 'openid demo.write', ' demo.read ', 'admin'), printable),
    audience: printable,
    resource: printable,
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);
/** Well-formed but for the subject: what reaches the authorization server. */
const subjectRequest = fc.record(
  {
    target: fc.constant('demo'),
    subject,
    scope: fc.constantFrom('demo.read', 'openid demo.write', ' demo.read ', 'demo.read demo.read'),
  },
  { requiredKeys: ['target', 'subject'] },
);

const body = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: tokenRequest.map((value) => Buffer.from(JSON.stringify(value))) },
  { weight: 4, arbitrary: subjectRequest.map((value) => Buffer.from(JSON.stringify(value))) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }).map((text) => Buffer.from(text)) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((text) => Buffer.from(text)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)) },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 512 })
      .map((bytes) => Buffer.from(Buffer.from(bytes).toString('base64'))),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 16 * 1024 - 16, max: 64 * 1024 })
      .map((size) => Buffer.from(JSON.stringify({ target: 'demo', subject: 'x'.repeat(size) }))),
  },
);

describe('local server', () => {
  describe('random requests', () => {
    it('never answer 5xx, and every refusal is a documented error body', async () => {
      // Prepare
      const property = fc.asyncProperty(fc.record({ method, path, headers, body }), async (sent) => {
        // Act
        const received = await send(sent);

        // Assess
        expectDocumented(sent, received);
      });

      // Act + Assess
      await fc.assert(property, {
        numRuns: RUNS,
        seed: SEED,
        interruptAfterTimeLimit: 8_000,
        markInterruptAsFailure: false,
      });
      expect(unhandled).toEqual([]);
    }, 15_000);

    it('with a valid caller, random subjects get a token for exactly that subject or a 400', async () => {
      // Prepare
      // The embedded defaults issue RFC 9068 JWT access tokens for the demo API: verified as it does.
      const keys = createRemoteJWKSet(new URL(defaults.authorizationServer.jwksUri));
      const property = fc.asyncProperty(subjectRequest, async (value) => {
        const sent = {
          method: 'POST',
          path: '/v1/token',
          headers: { 'content-type': 'application/json', 'x-api-key': OPEN_KEY },
          body: Buffer.from(JSON.stringify(value)),
        };

        // Act
        const received = await send(sent);

        // Assess
        expectDocumented(sent, received);
        expect([200, 400]).toContain(received.status);
        if (received.status === 200) {
          const { access_token } = JSON.parse(received.body) as { access_token: string };
          const { payload } = await jwtVerify(access_token, keys, {
            issuer: defaults.authorizationServer.issuer,
            audience: DEMO_API_AUDIENCE,
          });
          expect(payload.sub).toBe(value.subject);
        }
      });

      // Act + Assess
      await fc.assert(property, {
        numRuns: 100,
        seed: SEED,
        interruptAfterTimeLimit: 5_000,
        markInterruptAsFailure: false,
      });
      expect(unhandled).toEqual([]);
    }, 10_000);
  });

  describe('the RFC 6749 facade', () => {
    const OAUTH_ERRORS: Record<string, number[]> = {
      invalid_request: [400, 405, 413, 415],
      invalid_client: [401],
      invalid_grant: [400],
      unauthorized_client: [400],
      unsupported_grant_type: [400],
      invalid_scope: [400],
      invalid_target: [400],
    };
    const name = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom(
          'grant_type',
          'username',
          'password',
          'subject',
          'scope',
          'audience',
          'resource',
          'client_id',
          'client_secret',
          'subject_token',
          'subject_token_type',
          'requested_token_type',
        ),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    );
    const value = fc.oneof(
      fc.constantFrom('password', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'),
      fc.constantFrom('CICSUSR1', 'demo', DEMO_KEY, 'demo.read', 'urn:ietf:params:oauth:token-type:jwt'),
      printable,
      fc.string({ unit: 'binary', maxLength: 60 }),
    );
    const form = fc
      .array(fc.tuple(name, value), { maxLength: 8 })
      .map((pairs) => Buffer.from(new URLSearchParams(pairs).toString()));
    const authorization = fc.oneof(
      fc.constant(`Basic ${Buffer.from(`demo:${DEMO_KEY}`).toString('base64')}`),
      fc.constant(`Basic ${Buffer.from('demo:wrong').toString('base64')}`),
      headerValue.map((text) => `Basic ${text}`),
      headerValue,
    );

    it('never answers 5xx, and every refusal is an RFC 6749 error body', async () => {
      // Prepare
      const property = fc.asyncProperty(
        fc.record({
          form: fc.oneof(
            { weight: 6, arbitrary: form },
            { weight: 1, arbitrary: body.map((b) => b ?? Buffer.alloc(0)) },
          ),
          authorization: fc.option(authorization),
          contentType: fc.oneof(
            { weight: 6, arbitrary: fc.constant('application/x-www-form-urlencoded') },
            { weight: 1, arbitrary: contentType },
          ),
          target: fc.oneof(
            { weight: 6, arbitrary: fc.constant('demo') },
            { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,69}$/) },
          ),
        }),
        async ({ form: sentForm, authorization: auth, contentType: type, target }) => {
          const headers: Record<string, string> = { 'content-type': type };
          if (auth !== null) headers.authorization = auth;

          // Act
          const received = await send({
            method: 'POST',
            path: `/oauth2/${target}/token`,
            headers,
            body: sentForm,
          });

          // Assess
          expect(received.status, received.body).toBeLessThan(500);
          expect(received.headers['cache-control']).toBe('no-store');
          if (received.status === 200) return;
          const answer = JSON.parse(received.body) as Record<string, string>;
          expect(Object.keys(answer).sort()).toEqual(['error', 'error_description']);
          expect(OAUTH_ERRORS[answer.error!], received.body).toContain(received.status);
          if (received.status === 401) expect(received.headers['www-authenticate']).toMatch(/^Basic realm=/);
        },
      );

      // Act + Assess
      await fc.assert(property, {
        numRuns: RUNS,
        seed: SEED,
        interruptAfterTimeLimit: 8_000,
        markInterruptAsFailure: false,
      });
      expect(unhandled).toEqual([]);
    }, 15_000);
  });

  describe('answers what Node would answer bare, in the API error format', () => {
    const cases: Array<{ name: string; sent: Sent; code: ApiErrorCode }> = [
      {
        name: 'an unknown method',
        sent: { method: 'BREW', path: '/health', headers: {} },
        code: 'invalid_request',
      },
      {
        name: 'CONNECT',
        sent: { method: 'CONNECT', path: '/v1/token', headers: {} },
        code: 'method_not_allowed',
      },
      {
        name: 'headers over 16 KiB',
        sent: { method: 'GET', path: '/health', headers: { 'x-api-key': 'k'.repeat(20_000) } },
        code: 'invalid_request',
      },
      {
        name: 'an absolute-form target that is not a URL',
        sent: { method: 'GET', path: 'http://[', headers: {} },
        code: 'invalid_request',
      },
      {
        name: 'an unknown route, with the request id of the response',
        sent: { method: 'GET', path: '/admin', headers: {} },
        code: 'not_found',
      },
      {
        name: 'a body over 10 MiB',
        sent: {
          method: 'POST',
          path: '/v1/token',
          headers: { 'content-type': 'application/json' },
          body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
        },
        code: 'payload_too_large',
      },
    ];
    for (const { name, sent, code } of cases) {
      it(`${name}: ${API_ERRORS[code].status} ${code}`, async () => {
        // Act
        const received = await send(sent).catch((error: unknown) => ({ error }));

        // Assess
        expect(received).not.toHaveProperty('error');
        expectDocumented(sent, received as Received);
        expect(JSON.parse((received as Received).body)).toMatchObject({ error: code });
      });
    }

    it('serves a request with an unknown Expect value instead of a bare 417', async () => {
      // Act
      const received = await send({ method: 'GET', path: '/health', headers: { expect: 'teapot' } });

      // Assess
      expect(received.status).toBe(200);
      expect(JSON.parse(received.body)).toMatchObject({ status: 'ok' });
    });
  });
});
