import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGateway, type Gateway, type GatewayProvider } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import { PROXY_BODY_LIMIT_BYTES } from '#lib/config/schema.ts';
import { API_ERRORS, type ApiErrorCode } from '#lib/http/api-errors.ts';
import { callHandler } from '#lib/http/call-handler.ts';
import { jwksHandler, tokenHandler } from '#lib/http/handlers.ts';
import type { HttpResult } from '#lib/http/middleware.ts';
import { errorResponseBody } from '#lib/http/schemas.ts';
import { type DemoApi, startDemoApi, type WhoAmI } from '#lib/local/demo-api.ts';
import type { DemoAuthorizationServer } from '#lib/local/demo-authorization-server.ts';
import { createLambdaHttpServer } from '#lib/local/lambda-http-server.ts';
import { type GatewayMetrics, powertoolsMetrics } from '#lib/observability/metrics.ts';
import type { AuditEvent } from '#lib/policy/audit.ts';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { type HttpApiEventOptions, httpApiEvent, lambdaContext } from '#test/support/api-gateway-events.ts';
import { CLIENT_ID, type GatewayFixture, startGatewayFixture } from '#test/support/gateway-fixture.ts';
import { freePort, listen } from '#test/support/ports.ts';

/**
 * Proxy mode against real parts: the demo authorization server (oidc-provider) issues RFC 9068 JWT access
 * tokens, the demo API verifies them, and a scripted upstream (node:http on port 0) records every request
 * it gets and answers as each test tells it to. Every refusal is checked for what did not happen: no
 * upstream request, no token request.
 */

const CICS_KEY = 'cics-proxy-key-0d8e4b2a6c1f';
const OTHER_KEY = 'other-proxy-key-5a7c9e1b3d';
const API_AUDIENCE = 'urn:test:demo-api';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

type Behaviour = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void;

const ok: Behaviour = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
};

let fixture: GatewayFixture;
let dir: string;
let as: DemoAuthorizationServer;
let demoApi: DemoApi;
let upstream: Server;
let upstreamOrigin: string;
let closedOrigin: string;
let gateway: Gateway;
let behaviour: Behaviour = ok;
const seen: Seen[] = [];
const audit: AuditEvent[] = [];
const counted: string[] = [];
const provider: GatewayProvider = async () => gateway;

/** The real metrics, each count also written down (latencies are left out: they vary). */
const metrics: GatewayMetrics = {
  ...powertoolsMetrics,
  request: (outcome) => {
    counted.push(`request:${outcome}`);
    powertoolsMetrics.request(outcome);
  },
  call: (outcome) => {
    counted.push(`call:${outcome}`);
    powertoolsMetrics.call(outcome);
  },
  callRetried: () => {
    counted.push('call-retried');
    powertoolsMetrics.callRetried();
  },
  callTokenKept: () => {
    counted.push('call-token-kept');
    powertoolsMetrics.callTokenKept();
  },
};

beforeAll(async () => {
  fixture = await startGatewayFixture({
    name: 'proxy',
    jwks: jwksHandler(provider),
    jwtAccessTokens: { audience: API_AUDIENCE },
  });
  ({ dir, as } = fixture);
  demoApi = await startDemoApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: API_AUDIENCE });
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      seen.push(entry);
      behaviour(req, res, entry);
    });
  });
  upstreamOrigin = await fixture.serve(upstream);
  closedOrigin = `http://127.0.0.1:${await freePort()}`;

  const target = fixture.demoTarget;
  const { config } = parseConfig(
    {
      environment: 'development',
      signingKeys: { primary: { type: 'local', path: join(dir, 'primary.json'), generate: true } },
      targets: {
        demo: { ...target, proxy: { baseUrl: demoApi.url, methods: ['GET'], pathPrefixes: ['/whoami'] } },
        api: {
          ...target,
          proxy: {
            baseUrl: `${upstreamOrigin}/base/`,
            headers: { 'x-ibm-client-id': 'gateway-client', 'X-Channel': 'cics' },
            reissueAfterSeconds: 1,
          },
        },
        narrow: {
          ...target,
          proxy: { baseUrl: `${upstreamOrigin}/base`, methods: ['GET'], pathPrefixes: ['/accounts'] },
        },
        small: {
          ...target,
          proxy: { baseUrl: `${upstreamOrigin}/base`, maxRequestBytes: 16, maxResponseBytes: 1024 },
        },
        slow: { ...target, proxy: { baseUrl: `${upstreamOrigin}/base`, timeoutMs: 300 } },
        intl: { ...target, proxy: { baseUrl: `${upstreamOrigin}/base` } },
        down: { ...target, proxy: { baseUrl: `${closedOrigin}/base` } },
        // Its authorization server asks for a pause in one test (the window outlives the test).
        paused: { ...target, proxy: { baseUrl: `${upstreamOrigin}/base` } },
        // A 401 replacement meeting admission: one turn per 10 s (40 s for this instance's share, no
        // table), none waited for; and a target whose server asks for a pause in one test.
        rationed: {
          ...target,
          admission: { requestsPerSecond: 0.1, maxWaitMs: 0 },
          proxy: { baseUrl: `${upstreamOrigin}/base`, reissueAfterSeconds: 1 },
        },
        pausing: { ...target, proxy: { baseUrl: `${upstreamOrigin}/base`, reissueAfterSeconds: 1 } },
        'token-only': target,
      },
      callers: {
        cics: {
          apiKeys: [{ sha256: apiKeyHash(CICS_KEY) }],
          targets: {
            demo: {},
            api: {},
            narrow: {},
            small: {},
            slow: {},
            // Any user id, not only RACF's: for the non-ASCII ones.
            intl: { subjects: '.{1,64}' },
            down: {},
            paused: {},
            rationed: {},
            pausing: {},
            'token-only': {},
          },
        },
        other: { apiKeys: [{ sha256: apiKeyHash(OTHER_KEY) }], targets: { demo: {} } },
      },
    },
    'proxy test',
  );
  gateway = createGateway(config, {
    env: {
      ...fixture.env,
      // What a deployment with a Lambda authorizer passes on: where that authorizer reads credentials.
      CALLER_AUTHORIZER_IDENTITY_SOURCE: '$request.header.X-Caller-Token, $request.querystring.caller_token',
    },
    audit: { record: (event) => void audit.push(event) },
    metrics,
  });
});

afterEach(() => {
  behaviour = ok;
});

afterAll(async () => {
  await demoApi?.close();
  await fixture?.close();
});

const call = callHandler(provider);
const token = tokenHandler(provider);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly cookies: string[];
  readonly body: Buffer;
  readonly json: () => unknown;
}

async function invoke(event: APIGatewayProxyEventV2, remainingMs = 10_000): Promise<Answer> {
  const context = { ...lambdaContext(), getRemainingTimeInMillis: () => remainingMs };
  const result = (await call(event, context)) as HttpResult;
  const body = result.isBase64Encoded
    ? Buffer.from(result.body ?? '', 'base64')
    : Buffer.from(result.body ?? '', 'utf8');
  return {
    status: result.statusCode ?? 200,
    headers: (result.headers ?? {}) as Record<string, string>,
    cookies: result.cookies ?? [],
    body,
    json: () => JSON.parse(body.toString('utf8')),
  };
}

/** A call as API Gateway passes it: `path` is the raw path below /v1/call/. */
function callEvent(path: string, options: HttpApiEventOptions = {}): APIGatewayProxyEventV2 {
  return httpApiEvent({
    method: 'GET',
    path: `/v1/call/${path}`,
    omitHeaders: options.body === undefined ? ['content-type'] : [],
    ...options,
    headers: { 'x-api-key': CICS_KEY, 'x-subject': 'CICSUSR1', ...options.headers },
  });
}

/** The gateway's own refusal: the documented code and status, the error body, x-gateway-error. */
function expectGatewayError(answer: Answer, event: APIGatewayProxyEventV2, code: ApiErrorCode): void {
  expect({ status: answer.status, error: (answer.json() as { error?: string }).error }).toEqual({
    status: API_ERRORS[code].status,
    error: code,
  });
  expect(errorResponseBody.parse(answer.json()).request_id).toBe(event.requestContext.requestId);
  expect(answer.headers['x-gateway-error']).toBe('true');
}

/** Runs `act` and returns how many requests the upstream and the authorization server got meanwhile. */
async function counting<T>(act: () => Promise<T>): Promise<{ result: T; upstream: number; as: number }> {
  const before = { upstream: seen.length, as: as.tokenRequests.length };
  const result = await act();
  return { result, upstream: seen.length - before.upstream, as: as.tokenRequests.length - before.as };
}

/**
 * One request through the local server (`npm start`), header values as the raw bytes given (a string is
 * written as Latin-1 bytes, an array as repeated header lines); the status and body it answers.
 */
async function viaLocalServer(
  path: string,
  headers: Record<string, string | string[]>,
  method = 'GET',
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const server = createLambdaHttpServer({ '* /v1/call/*': call });
  const { hostname, port } = new URL(await listen(server));
  try {
    return await new Promise((resolve, reject) => {
      // Options, not a URL string: Node would resolve the dot segments of a URL before sending.
      const req = request({ host: hostname, port, path, method, headers, agent: false });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** A string's UTF-8 bytes as the Latin-1 string Node writes byte for byte. */
const utf8Bytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

describe('callHandler', () => {
  describe('calls the API as the end user', () => {
    it('reaches the demo API, which verifies the token and sees the user and none of the caller credentials', async () => {
      // Prepare
      const event = callEvent('demo/whoami', {
        headers: { authorization: 'Basic Y2ljczpwYXNzd29yZA==', 'x-forwarded-client-cert': 'Hash=abc' },
        clientCert: { subjectDN: 'CN=cics-prod' },
      });

      // Act
      const answer = await invoke(event);

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.headers['x-gateway-error']).toBeUndefined();
      const whoami = answer.json() as WhoAmI;
      expect(whoami).toMatchObject({ sub: 'CICSUSR1', scope: 'demo.read', client_id: CLIENT_ID });
      expect(whoami.headers).toContain('authorization');
      expect(whoami.headers).toContain('x-request-id');
      for (const name of ['x-api-key', 'x-subject', 'x-forwarded-client-cert', 'x-forwarded-for', 'cookie']) {
        expect(whoami.headers).not.toContain(name);
      }
    });

    it('sends the token POST /v1/token gives the same caller for the same user, as token_type and token', async () => {
      // Prepare
      const tokenEvent = httpApiEvent({
        path: '/v1/token',
        body: { target: 'api', subject: 'CICSUSR2' },
        headers: { 'x-api-key': CICS_KEY },
      });
      const issued = JSON.parse(((await token(tokenEvent, lambdaContext())) as HttpResult).body ?? '{}') as {
        access_token: string;
        token_type: string;
      };

      // Act
      const {
        result,
        upstream: calls,
        as: exchanges,
      } = await counting(() => invoke(callEvent('api/accounts/7', { headers: { 'x-subject': 'CICSUSR2' } })));

      // Assess
      expect(result.status).toBe(200);
      expect({ calls, exchanges }).toEqual({ calls: 1, exchanges: 0 });
      expect(seen.at(-1)?.headers.authorization).toBe(`${issued.token_type} ${issued.access_token}`);
      expect(decodeJwt(issued.access_token)).toMatchObject({ sub: 'CICSUSR2', aud: API_AUDIENCE });
    });

    it('forwards method, path and query as sent, body and request id; drops credentials and hop-by-hop headers', async () => {
      // Prepare
      const event = callEvent('api/accounts/caf%C3%A9/a%41b;v=1/?q=1&x=%2F', {
        method: 'POST',
        body: '{"amount":12}',
        headers: {
          'x-request-id': 'cics-task-0042',
          connection: 'keep-alive, x-drop-me',
          'x-drop-me': 'hop',
          'keep-alive': 'timeout=5',
          te: 'trailers',
          'proxy-authorization': 'Basic eDp5',
          'x-forwarded-host': 'evil.example',
          forwarded: 'host=evil.example',
          'client-cert': ':MIIB:',
          'x-http-method-override': 'DELETE',
          'x-original-url': '/admin',
          host: 'evil.example',
          'x-channel': 'caller-value',
          'x-custom': 'kept',
        },
      });

      // Act
      const answer = await invoke(event);

      // Assess
      expect(answer.status).toBe(200);
      const request = seen.at(-1)!;
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/base/accounts/caf%C3%A9/a%41b;v=1/?q=1&x=%2F');
      expect(request.body.toString('utf8')).toBe('{"amount":12}');
      expect(request.headers).toMatchObject({
        'x-request-id': 'cics-task-0042',
        'x-custom': 'kept',
        'x-ibm-client-id': 'gateway-client',
        'x-channel': 'cics',
        'content-type': 'application/json',
        host: new URL(upstreamOrigin).host,
      });
      expect(request.headers.authorization).toMatch(/^Bearer eyJ/);
      for (const name of [
        'x-api-key',
        'x-subject',
        'x-drop-me',
        'te',
        'proxy-authorization',
        'x-forwarded-host',
        'x-forwarded-for',
        'forwarded',
        'client-cert',
        'x-http-method-override',
        'x-original-url',
      ]) {
        expect(request.headers[name], name).toBeUndefined();
      }
    });

    it.each([
      ["?name='O''Brien'", "?name='O''Brien'"],
      ['/a%3Bb%3Dc%2Cd%2Be%26f/g;h=1', '/a%3Bb%3Dc%2Cd%2Be%26f/g;h=1'],
      ['/%7euser/%c3%a9?q=%7e+%2B', '/%7euser/%c3%a9?q=%7e+%2B'],
    ])('forwards path and query bytes as sent: api/people%s', async (sent, received) => {
      // Act
      const answer = await invoke(callEvent(`api/people${sent}`));

      // Assess
      expect(answer.status).toBe(200);
      expect(seen.at(-1)?.url).toBe(`/base/people${received}`);
    });

    it('drops the AWS SigV4 credential headers of an IAM-signed call (session token, date, payload hash)', async () => {
      // Prepare: what an IAM-authorized route receives from a signing client, besides its Authorization.
      const event = callEvent('api/accounts', {
        headers: {
          'x-amz-security-token': 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN',
          'x-amz-date': '20261202T111500Z',
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        },
      });

      // Act
      const answer = await invoke(event);

      // Assess
      expect(answer.status).toBe(200);
      const request = seen.at(-1)!;
      for (const name of ['x-amz-security-token', 'x-amz-date', 'x-amz-content-sha256']) {
        expect(request.headers[name], name).toBeUndefined();
      }
    });

    it('drops presigned SigV4 query credentials and what the Lambda authorizer reads, keeping the rest as sent', async () => {
      // Prepare: a presigned URL's parameters (one name percent-encoded), and the credential the
      // deployment's authorizer reads from a header and from the query.
      const presigned = [
        'X-Amz-Algorithm=AWS4-HMAC-SHA256',
        'X-Amz-Credential=ASIAEXAMPLE%2F20261206%2Feu-central-1%2Fexecute-api%2Faws4_request',
        'X-Amz-Date=20261206T050000Z',
        'X-Amz-Expires=300',
        'X-Amz-SignedHeaders=host',
        'X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN',
        'X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
        'x-amz-%53ignature=second',
        'Caller_Token=authorizer-secret',
      ].join('&');
      const event = callEvent(`api/accounts?a=1&${presigned}&b=%27x%27`, {
        headers: { 'x-caller-token': 'authorizer-header-secret' },
      });

      // Act
      const answer = await invoke(event);

      // Assess
      expect(answer.status).toBe(200);
      const request = seen.at(-1)!;
      expect(request.url).toBe('/base/accounts?a=1&b=%27x%27');
      expect(request.headers['x-caller-token']).toBeUndefined();
    });

    it("returns the API's status, headers, cookies and binary body unchanged, minus hop-by-hop headers", async () => {
      // Prepare
      const bytes = Buffer.from([0, 255, 254, 10, 13, 0x80, 0x7f, 34, 92]);
      behaviour = (_req, res) => {
        res.writeHead(418, {
          'content-type': 'application/octet-stream',
          'x-api-answer': 'yes',
          'set-cookie': ['a=1; Secure', 'b=2; HttpOnly'],
          'keep-alive': 'timeout=2',
          'x-gateway-error': 'true',
        });
        res.end(bytes);
      };

      // Act
      const answer = await invoke(callEvent('api/binary'));

      // Assess
      expect(answer.status).toBe(418);
      expect(answer.body.equals(bytes)).toBe(true);
      expect(answer.headers).toMatchObject({
        'content-type': 'application/octet-stream',
        'x-api-answer': 'yes',
      });
      expect(answer.cookies).toEqual(['a=1; Secure', 'b=2; HttpOnly']);
      expect(answer.headers['keep-alive']).toBeUndefined();
      expect(answer.headers['x-gateway-error']).toBeUndefined();
      expect(audit.at(-1)).toMatchObject({
        action: 'call',
        caller: 'cics',
        target: 'api',
        subject: 'CICSUSR1',
        outcome: 'success',
        api_request: 'GET /binary',
        api_status: 418,
        token_retried: false,
      });
    });

    it('answers HEAD with the API status and headers and no body, whatever length it declares', async () => {
      // Prepare
      behaviour = (_req, res) => {
        // The length a GET would get: above the small target's 1,024-byte response limit.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2048', etag: '"v7"' });
        res.end();
      };

      // Act
      const answer = await invoke(callEvent('small/accounts/7', { method: 'HEAD' }));

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.headers.etag).toBe('"v7"');
      expect(answer.headers['content-length']).toBe('2048');
      expect(answer.body.length).toBe(0);
      expect(seen.at(-1)?.method).toBe('HEAD');
    });

    it("keeps the API's Content-Length on HEAD through the local server", async () => {
      // Prepare
      behaviour = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '731' });
        res.end();
      };

      // Act
      const result = await viaLocalServer(
        '/v1/call/api/accounts/7',
        { 'x-api-key': CICS_KEY, 'x-subject': 'CICSUSR1' },
        'HEAD',
      );

      // Assess
      expect(result.status).toBe(200);
      expect(result.headers['content-length']).toBe('731');
      expect(result.body).toBe('');
    });

    it('passes a binary request body through byte for byte', async () => {
      // Prepare
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const event = callEvent('api/upload', {
        method: 'PUT',
        body: bytes.toString('latin1'),
        headers: { 'content-type': 'application/octet-stream' },
      });
      event.body = bytes.toString('base64');
      event.isBase64Encoded = true;

      // Act
      const answer = await invoke(event);

      // Assess
      expect(answer.status).toBe(200);
      expect(seen.at(-1)?.body.equals(bytes)).toBe(true);
    });
  });

  describe('one pass per call (issue 19)', () => {
    /** Past the api target's reissueAfterSeconds (1 s): the cached token may be replaced once. */
    const pastReissueInterval = () => new Promise((resolve) => setTimeout(resolve, 1_100));

    /** Audit events and caller policy calls during `act`, counted on the composed gateway's own policy. */
    async function passes(act: () => Promise<unknown>) {
      const { policy } = gateway;
      const identify = vi.spyOn(policy, 'identify');
      const authorize = vi.spyOn(policy, 'authorize');
      const before = audit.length;
      const metricsBefore = counted.length;
      try {
        await act();
        return {
          events: audit.slice(before),
          // TokenRequests per token obtained (alarms watch its TokenError.<code>), CallRequests per call.
          metrics: counted.slice(metricsBefore).filter((name) => /^(request|call):/.test(name)),
          identify: identify.mock.calls.length,
          // The policy decision (its named-subject rule included).
          authorize: authorize.mock.calls.length,
        };
      } finally {
        vi.restoreAllMocks();
      }
    }

    it('identifies the caller once, decides once and writes one audit event per call', async () => {
      // Act
      const counts = await passes(() =>
        invoke(callEvent('demo/whoami', { headers: { 'x-subject': 'CICSU190' } })),
      );

      // Assess
      expect({ ...counts, events: counts.events.map((event) => event.action) }).toEqual({
        events: ['call'],
        identify: 1,
        authorize: 1,
        metrics: ['request:success', 'call:success'],
      });
      expect(counts.events[0]).toMatchObject({
        outcome: 'success',
        token_retried: false,
        subject: 'CICSU190',
      });
    });

    it('writes one audit event, recording the token retry, when a 401 replaced the token', async () => {
      // Prepare: the API refuses the first token it sees for this user, as after a revocation.
      const subject = 'CICSU191';
      await invoke(callEvent('api/warm', { headers: { 'x-subject': subject } }));
      const refused = seen.at(-1)!.headers.authorization;
      behaviour = (_req, res, request) => {
        res.writeHead(request.headers.authorization === refused ? 401 : 200).end();
      };
      await pastReissueInterval();

      // Act
      const counts = await passes(() =>
        invoke(callEvent('api/retry', { headers: { 'x-subject': subject } })),
      );

      // Assess
      expect({ ...counts, events: counts.events.map((event) => event.action) }).toEqual({
        events: ['call'],
        identify: 1,
        authorize: 1,
        metrics: ['request:success', 'request:success', 'call:success'],
      });
      expect(counts.events[0]).toMatchObject({ token_retried: true, api_status: 200, cache: 'hit' });
      expect(counts.events[0]?.mapped_subject).toBe(subject);
    });
  });

  describe('on 401 from the API', () => {
    /** Past the api target's reissueAfterSeconds (1 s): the cached token may be replaced once. */
    const pastReissueInterval = () => new Promise((resolve) => setTimeout(resolve, 1_100));

    it('replaces a token older than reissueAfterSeconds and retries once', async () => {
      // Prepare: the API refuses the first token it sees for this user, as after a revocation.
      const subject = 'CICSU401';
      await invoke(callEvent('api/warm', { headers: { 'x-subject': subject } }));
      const refused = seen.at(-1)!.headers.authorization;
      behaviour = (_req, res, request) => {
        res.writeHead(request.headers.authorization === refused ? 401 : 200).end();
      };
      await pastReissueInterval();
      counted.length = 0;

      // Act
      const event = callEvent('api/retry', { headers: { 'x-subject': subject } });
      const { result, upstream: calls, as: exchanges } = await counting(() => invoke(event));

      // Assess
      expect(result.status).toBe(200);
      expect({ calls, exchanges }).toEqual({ calls: 2, exchanges: 1 });
      const [first, second] = seen.slice(-2);
      expect(first?.headers.authorization).toBe(refused);
      expect(second?.headers.authorization).not.toBe(refused);
      expect(decodeJwt(second!.headers.authorization!.slice('Bearer '.length)).sub).toBe(subject);
      expect(counted).toContain('call-retried');
      const events = audit.filter((entry) => entry.request_id === event.requestContext.requestId);
      // One event for the call (issue 19): the first token's cache outcome, the replacement as token_retried.
      expect(events.map((entry) => [entry.action, entry.cache])).toEqual([['call', 'hit']]);
      expect(events.at(-1)).toMatchObject({ token_retried: true, api_status: 200, outcome: 'success' });
    });

    it('passes a second 401 through unchanged, without a third attempt', async () => {
      // Prepare
      const subject = 'CICSU402';
      await invoke(callEvent('api/warm', { headers: { 'x-subject': subject } }));
      behaviour = (_req, res) => {
        res.writeHead(401, {
          'www-authenticate': 'Bearer error="invalid_token"',
          'content-type': 'text/plain',
        });
        res.end('not you');
      };
      await pastReissueInterval();

      // Act
      const {
        result,
        upstream: calls,
        as: exchanges,
      } = await counting(() => invoke(callEvent('api/never', { headers: { 'x-subject': subject } })));

      // Assess
      expect({ calls, exchanges }).toEqual({ calls: 2, exchanges: 1 });
      expect(result.status).toBe(401);
      expect(result.body.toString('utf8')).toBe('not you');
      expect(result.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(result.headers['x-gateway-error']).toBeUndefined();
      expect(audit.at(-1)).toMatchObject({ action: 'call', api_status: 401, token_retried: true });
    });

    it('makes at most one exchange per user and target per interval, however many calls one path refuses (issue 17, item 11)', async () => {
      // Prepare: one path answers 401 to this user whatever the token (a 403 meant as 401, say); another
      // path, and another caller's use of the same user, work with any valid token.
      const subject = 'CICSU403';
      await invoke(callEvent('api/warm', { headers: { 'x-subject': subject } }));
      behaviour = (req, res) => {
        res.writeHead(req.url?.includes('/refusing') ? 401 : 200).end();
      };
      await pastReissueInterval();
      counted.length = 0;

      // Act: 20 calls to the refusing path, then one to a path that works.
      const storm = await counting(async () => {
        const answers = [];
        for (let i = 0; i < 20; i++) {
          answers.push(await invoke(callEvent('api/refusing', { headers: { 'x-subject': subject } })));
        }
        return answers;
      });
      const afterwards = await counting(() =>
        invoke(callEvent('api/working', { headers: { 'x-subject': subject } })),
      );

      // Assess: one replacement (the first call, past the interval), one retry; the 19 others keep the
      // new token and pass the 401 on. The user's token was never dropped: the working path needs no exchange.
      expect(storm.result.map((answer) => answer.status)).toEqual(Array(20).fill(401));
      expect({ calls: storm.upstream, exchanges: storm.as }).toEqual({ calls: 21, exchanges: 1 });
      expect(counted.filter((name) => name === 'call-retried')).toHaveLength(1);
      expect(counted.filter((name) => name === 'call-token-kept')).toHaveLength(19);
      expect(afterwards.result.status).toBe(200);
      expect(afterwards.as).toBe(0);
    });
  });

  describe('on 401 while admission holds the authorization server back (issue 17 item 11 with issue 18)', () => {
    // The replacement a 401 asks for is a token request like any other: refused by the target's rate,
    // or inside a pause the server announced, it must leave the caller the still-valid cached token (as a
    // KMS outage does, item 10) and pass the API's 401 on, never turn it into a 503.
    it.each([
      ['refused by the rate', 'rationed', async (): Promise<void> => undefined],
      [
        'inside an announced pause',
        'pausing',
        (): Promise<void> => gateway.admission.openBackoff('as:pausing', Date.now() + 30_000),
      ],
    ] as const)(
      '%s: keeps the cached token and passes the 401 on, asking the server nothing',
      async (_name, target, hold) => {
        // Prepare: a token cached for the user, older than reissueAfterSeconds; then the API refuses it.
        const subject = target === 'rationed' ? 'CICSRAT1' : 'CICSPAU1';
        const warm = await invoke(callEvent(`${target}/warm`, { headers: { 'x-subject': subject } }));
        const cached = seen.at(-1)!.headers.authorization;
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        await hold();
        behaviour = (_req, res) => {
          res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
        };
        counted.length = 0;

        // Act
        const event = callEvent(`${target}/refused`, { headers: { 'x-subject': subject } });
        const { result, upstream: calls, as: exchanges } = await counting(() => invoke(event));

        // Assess: the API saw the cached token once; no token request; its 401 reaches the caller.
        expect(warm.status).toBe(200);
        expect(result.status).toBe(401);
        expect(result.headers['x-gateway-error']).toBeUndefined();
        expect({ calls, exchanges }).toEqual({ calls: 1, exchanges: 0 });
        expect(seen.at(-1)!.headers.authorization).toBe(cached);
        expect(counted).toContain('call-token-kept');
        const events = audit.filter((entry) => entry.request_id === event.requestContext.requestId);
        // One audit event per call (issue 19): the first token's cache outcome, the API's 401, no retry.
        expect(events.map((entry) => [entry.action, entry.cache])).toEqual([['call', 'hit']]);
        expect(events[0]).toMatchObject({ api_status: 401 });
        expect(events[0]!.token_retried).not.toBe(true);

        // And a working path afterwards still gets the user's token, with no exchange.
        behaviour = ok;
        const afterwards = await counting(() =>
          invoke(callEvent(`${target}/working`, { headers: { 'x-subject': subject } })),
        );
        expect(afterwards.result.status).toBe(200);
        expect(afterwards.as).toBe(0);
      },
    );
  });

  describe('refuses without calling the API or the authorization server', () => {
    const traversals = [
      'api/../secret',
      'api/a/../../secret',
      'api/./a',
      'api/%2e%2e/secret',
      'api/%2E%2e/secret',
      'api/.%2e/secret',
      'api/a%2f..%2fsecret',
      'api/a%2F%2E%2E%2Fsecret',
      'api/..%5csecret',
      'api/..\\secret',
      'api/a\\..\\secret',
      'api//evil.example/x',
      'api/%2f%2fevil.example/x',
      'api/http://evil.example/x',
      'api/a//b',
      'api/%252e%252e/secret',
      'api/..;/secret',
      'api/.;x/secret',
      'api/%c0%ae%c0%ae/secret',
      'api/a%00b',
      'api/a%zzb',
      'api/a%',
      'api/a b',
      'api/a?q=1 2',
      'api/a?q=%',
      'api/é',
      '..%2fapi/x',
      'api%2f../x',
    ];

    it.each(traversals)('%s: 400 invalid_request', async (path) => {
      // Prepare
      const event = callEvent(path);

      // Act
      const { result, upstream: calls, as: exchanges } = await counting(() => invoke(event));

      // Assess
      expectGatewayError(result, event, 'invalid_request');
      expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
    });

    it.each<[string, HttpApiEventOptions, ApiErrorCode]>([
      ['api/x', { headers: { 'x-api-key': 'wrong' } }, 'unauthorized_caller'],
      ['api/x', { headers: { 'x-api-key': OTHER_KEY } }, 'access_denied'],
      ['api/x', { headers: { 'x-subject': 'cicsusr1' } }, 'access_denied'],
      ['api/x', { headers: { 'x-subject': '' } }, 'invalid_request'],
      ['api/x', { headers: { 'x-subject': 'A\u0007B' } }, 'invalid_request'],
      ['nosuch/x', {}, 'unknown_target'],
      ['token-only/x', {}, 'proxy_not_enabled'],
      // A caller that may not use a target learns nothing about it, proxy mode or not: 403 either way.
      ['token-only/x', { headers: { 'x-api-key': OTHER_KEY } }, 'access_denied'],
      ['narrow/x', { headers: { 'x-api-key': OTHER_KEY } }, 'access_denied'],
      ['narrow/payments/1', {}, 'call_not_allowed'],
      ['narrow/accountsX', {}, 'call_not_allowed'],
      ['narrow/accounts/1', { method: 'DELETE' }, 'call_not_allowed'],
      ['api/x', { method: 'TRACE' }, 'method_not_allowed'],
      ['small/x', { method: 'POST', body: '{"more":"than sixteen bytes"}' }, 'payload_too_large'],
    ])('%s %j: %s', async (path, options, code) => {
      // Prepare
      const event = callEvent(path, options);
      if (options.headers?.['x-subject'] === '') delete event.headers['x-subject'];

      // Act
      const { result, upstream: calls, as: exchanges } = await counting(() => invoke(event));

      // Assess
      expectGatewayError(result, event, code);
      expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
    });

    it.each([
      ['x-subject', 'ALICE,BOB'],
      [
        'x-subject-token',
        'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJBIn0.c2ln,eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJCIn0.c2ln',
      ],
    ])(
      'refuses %s repeated (joined with a comma, as API Gateway passes it): 400 invalid_request',
      async (name, value) => {
        // Prepare
        const event = callEvent('api/accounts', { headers: { [name]: value } });
        if (name !== 'x-subject') delete event.headers['x-subject'];

        // Act
        const { result, upstream: calls, as: exchanges } = await counting(() => invoke(event));

        // Assess
        expectGatewayError(result, event, 'invalid_request');
        expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
      },
    );

    it('refuses two x-subject headers sent to the local server: 400, no token for "ALICE, BOB"', async () => {
      // Act
      const {
        result,
        upstream: calls,
        as: exchanges,
      } = await counting(() =>
        viaLocalServer('/v1/call/api/accounts', { 'x-api-key': CICS_KEY, 'x-subject': ['ALICE', 'BOB'] }),
      );

      // Assess
      expect(result.status).toBe(400);
      expect(JSON.parse(result.body)).toMatchObject({ error: 'invalid_request' });
      expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
    });

    it('takes a blank-padded RACF user id (ASSIGN USERID) as the user id', async () => {
      // Prepare
      const event = callEvent('demo/whoami', { headers: { 'x-subject': 'JOE     ' } });

      // Act
      const answer = await invoke(event);

      // Assess
      expect(answer.status).toBe(200);
      expect((answer.json() as WhoAmI).sub).toBe('JOE');
    });

    it('ignores a Host header: the host comes only from the configuration', async () => {
      // Prepare
      const event = callEvent('api/accounts', { headers: { host: 'evil.example:443' } });

      // Act
      const answer = await invoke(event);

      // Assess
      expect(answer.status).toBe(200);
      expect(seen.at(-1)?.headers.host).toBe(new URL(upstreamOrigin).host);
    });

    it.each([
      ['origin-form', '/v1/call/api/x/../secret'],
      ['absolute-form', 'http://localhost/v1/call/api/x/../secret'],
      ['absolute-form, encoded dots', 'http://localhost/v1/call/api/x/%2e%2e/secret'],
    ])('refuses dot segments in an %s request target of the local server: 400', async (_form, path) => {
      // Act
      const {
        result,
        upstream: calls,
        as: exchanges,
      } = await counting(() => viaLocalServer(path, { 'x-api-key': CICS_KEY, 'x-subject': 'CICSUSR1' }));

      // Assess
      expect(result.status).toBe(400);
      expect(JSON.parse(result.body)).toMatchObject({ error: 'invalid_request' });
      expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
    });

    it('takes the path and query of an absolute-form request target as sent', async () => {
      // Act
      const result = await viaLocalServer('http://localhost/v1/call/api/accounts/7?q=1', {
        'x-api-key': CICS_KEY,
        'x-subject': 'CICSUSR1',
      });

      // Assess
      expect(result.status).toBe(200);
      expect(seen.at(-1)?.url).toBe('/base/accounts/7?q=1');
    });

    it('passes the raw path through the local server, which does not resolve dot segments first', async () => {
      // Prepare
      const server = createLambdaHttpServer({ '* /v1/call/*': call });
      const origin = await listen(server);
      const before = seen.length;

      // Act
      const status = await new Promise<number>((resolve, reject) => {
        // Options, not a URL string: Node would resolve the dot segments of a URL before sending.
        const { hostname, port } = new URL(origin);
        const req = request({
          host: hostname,
          port,
          path: '/v1/call/api/accounts/../../../v1/token',
          headers: { 'x-api-key': CICS_KEY, 'x-subject': 'CICSUSR1' },
          agent: false,
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));

      // Assess
      expect(status).toBe(400);
      expect(seen.length).toBe(before);
    });
  });

  describe('identity headers are UTF-8', () => {
    it.each(['José', 'MÜLLER', 'K\u212Aelvin'])(
      'gets a token for %s sent as UTF-8 to the local server',
      async (user) => {
        // Act
        const result = await viaLocalServer('/v1/call/intl/accounts', {
          'x-api-key': CICS_KEY,
          'x-subject': utf8Bytes(user),
        });

        // Assess
        expect(result.status).toBe(200);
        const sent = seen.at(-1)!.headers.authorization!;
        expect(decodeJwt(sent.slice('Bearer '.length)).sub).toBe(user);
      },
    );

    it('takes a value API Gateway decoded (no Latin-1 step) as it is', async () => {
      // Act
      const answer = await invoke(callEvent('intl/accounts', { headers: { 'x-subject': 'Zoë' } }));

      // Assess
      expect(answer.status).toBe(200);
      expect(decodeJwt(seen.at(-1)!.headers.authorization!.slice('Bearer '.length)).sub).toBe('Zoë');
    });

    it('refuses an x-subject that is not valid UTF-8 (Latin-1 é): 400 invalid_request', async () => {
      // Act
      const {
        result,
        upstream: calls,
        as: exchanges,
      } = await counting(() =>
        viaLocalServer('/v1/call/intl/accounts', { 'x-api-key': CICS_KEY, 'x-subject': 'Jos\xE9' }),
      );

      // Assess
      expect(result.status).toBe(400);
      expect(JSON.parse(result.body)).toMatchObject({ error: 'invalid_request' });
      expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
    });

    it('forwards other non-ASCII headers as the bytes sent', async () => {
      // Act
      const result = await viaLocalServer('/v1/call/intl/accounts', {
        'x-api-key': CICS_KEY,
        'x-subject': 'CICSUSR1',
        'x-note': utf8Bytes('café'),
      });

      // Assess
      expect(result.status).toBe(200);
      expect(Buffer.from(seen.at(-1)!.headers['x-note'] as string, 'latin1').toString('utf8')).toBe('café');
    });
  });

  describe('while the authorization server asks for a pause', () => {
    it('answers 503 upstream_busy with the remaining Retry-After at once, calling neither the API nor the server', async () => {
      // Prepare: a 30 s pause opened for the target (as a 429 with Retry-After: 30 would).
      await gateway.admission.openBackoff('as:paused', Date.now() + 30_000);
      const event = callEvent('paused/accounts/1', { headers: { 'x-subject': 'CICSBUSY' } });

      // Act
      const { result: answer, upstream, as: tokenRequests } = await counting(() => invoke(event));

      // Assess
      expectGatewayError(answer, event, 'upstream_busy');
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(29);
      expect(Number(answer.headers['retry-after'])).toBeLessThanOrEqual(30);
      expect({ upstream, tokenRequests }).toEqual({ upstream: 0, tokenRequests: 0 });
    });
  });

  describe('limits', () => {
    it(`refuses a body above the platform bound (${PROXY_BODY_LIMIT_BYTES} bytes) with 413`, async () => {
      // Prepare
      const event = callEvent('api/upload', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
      });
      event.body = Buffer.alloc(PROXY_BODY_LIMIT_BYTES + 3).toString('base64');
      event.isBase64Encoded = true;

      // Act
      const { result, upstream: calls } = await counting(() => invoke(event));

      // Assess
      expectGatewayError(result, event, 'payload_too_large');
      expect(calls).toBe(0);
    });

    it('carries a body of exactly the target limit', async () => {
      // Prepare
      const event = callEvent('small/x', { method: 'POST', body: '0123456789abcdef' });

      // Act
      const answer = await invoke(event);

      // Assess
      expect(answer.status).toBe(200);
      expect(seen.at(-1)?.body.toString('utf8')).toBe('0123456789abcdef');
    });

    it('answers 502 api_response_too_large when the API declares a longer body', async () => {
      // Prepare
      behaviour = (_req, res) => {
        res.writeHead(200, { 'content-length': '1025' }).end(Buffer.alloc(1025));
      };
      const event = callEvent('small/big');

      // Act
      const answer = await invoke(event);

      // Assess
      expectGatewayError(answer, event, 'api_response_too_large');
    });

    it('stops reading a streamed response at the limit and closes the connection', async () => {
      // Prepare: an endless chunked body; the API notices when the gateway hangs up.
      let stoppedAt = -1;
      behaviour = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        let written = 0;
        const pump = () => {
          while (!res.destroyed && written < 64 * 1024 * 1024) {
            written += 512;
            if (!res.write(Buffer.alloc(512))) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        res.on('close', () => {
          stoppedAt = written;
        });
        pump();
      };
      const event = callEvent('small/stream');

      // Act
      const answer = await invoke(event);
      for (let i = 0; i < 100 && stoppedAt < 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));

      // Assess
      expectGatewayError(answer, event, 'api_response_too_large');
      expect(stoppedAt).toBeGreaterThan(0);
      expect(stoppedAt).toBeLessThan(64 * 1024 * 1024);
    });

    it('answers 502 api_unavailable when the API refuses the connection', async () => {
      // Prepare
      const event = callEvent('down/x');

      // Act
      const answer = await invoke(event);

      // Assess
      expectGatewayError(answer, event, 'api_unavailable');
      expect(audit.at(-1)).toMatchObject({ action: 'call', outcome: 'api_unavailable', api_status: null });
    });

    it('answers 504 api_timeout when the API is slower than the target timeout', async () => {
      // Prepare: the API never answers; the test ends the hanging request itself.
      const hanging: ServerResponse[] = [];
      behaviour = (_req, res) => void hanging.push(res);
      const event = callEvent('slow/x');

      // Act
      const answer = await invoke(event);
      for (const res of hanging) res.destroy();

      // Assess
      expectGatewayError(answer, event, 'api_timeout');
      expect(counted).toContain('call:api_timeout');
    });

    it('answers 504 api_timeout when the request deadline comes first, even with a longer target timeout', async () => {
      // Prepare: 1.4 s left, less the 1 s margin: the API's 10 s timeout cannot apply.
      await invoke(callEvent('api/warm', { headers: { 'x-subject': 'CICSU504' } }));
      const hanging: ServerResponse[] = [];
      behaviour = (_req, res) => void hanging.push(res);
      const event = callEvent('api/hang', { headers: { 'x-subject': 'CICSU504' } });

      // Act
      const answer = await invoke(event, 1_400);
      for (const res of hanging) res.destroy();

      // Assess
      expectGatewayError(answer, event, 'api_timeout');
    });
  });

  describe('kept-alive connections', () => {
    /** The API closes each connection instead of answering its second request, as on an idle timeout. */
    function closesReusedConnections(): void {
      const served = new WeakMap<object, number>();
      behaviour = (req, res) => {
        const count = (served.get(req.socket) ?? 0) + 1;
        served.set(req.socket, count);
        if (count > 1) req.socket.destroy();
        else res.writeHead(200, { 'content-type': 'text/plain' }).end('fresh connection');
      };
    }

    it('sends an idempotent call once more on a new connection when a reused one was closed', async () => {
      // Prepare
      closesReusedConnections();
      await invoke(callEvent('api/first'));

      // Act
      const { result, upstream: calls } = await counting(() => invoke(callEvent('api/second')));

      // Assess
      expect(result.status).toBe(200);
      expect(result.body.toString('utf8')).toBe('fresh connection');
      expect(calls).toBe(2);
    });

    it('does not send a POST twice: 502 api_unavailable', async () => {
      // Prepare
      closesReusedConnections();
      await invoke(callEvent('api/first'));
      const event = callEvent('api/pay', { method: 'POST', body: '{"amount":1}' });

      // Act
      const { result, upstream: calls } = await counting(() => invoke(event));

      // Assess
      expectGatewayError(result, event, 'api_unavailable');
      expect(calls).toBe(1);
    });
  });

  describe('fuzzed paths', () => {
    const segment = fc.oneof(
      fc.constantFrom(
        '.',
        '..',
        '',
        '%2e',
        '%2E%2e',
        '%2f',
        '%5c',
        '\\',
        '%25',
        '%252e',
        ';',
        '..;',
        '%00',
        '%',
        '%c0%ae',
        'a',
        'accounts',
        '@',
        ':',
        'http:',
        '%41',
      ),
      fc.stringMatching(/^[\x21-\x7e]{0,8}$/),
    );
    const path = fc.array(segment, { maxLength: 6 }).map((segments) => segments.join('/'));
    const query = fc.option(fc.stringMatching(/^[\x21-\x7e]{0,12}$/), { nil: undefined });

    it('never answers 5xx and never reaches outside the base path', async () => {
      // Prepare
      const property = fc.asyncProperty(path, query, async (rest, q) => {
        const before = seen.length;
        const event = callEvent(`api/${rest}${q === undefined ? '' : `?${q}`}`);

        // Act
        const answer = await invoke(event);

        // Assess
        expect(answer.status, `${rest} ${q}`).toBeLessThan(500);
        if (answer.status >= 400) expect(answer.headers['x-gateway-error']).toBe('true');
        for (const request of seen.slice(before)) {
          expect(request.url.startsWith('/base/'), request.url).toBe(true);
          const pathname = new URL(request.url, upstreamOrigin).pathname;
          expect(
            pathname.split('/').some((s) => s === '..' || s === '.'),
            request.url,
          ).toBe(false);
          expect(pathname.includes('//'), request.url).toBe(false);
        }
      });

      // Act
      await fc.assert(property, { numRuns: 200, seed: 20_260_102 });
    }, 30_000);
  });
});
