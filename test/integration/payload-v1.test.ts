// The functions' entry points (functions/*.ts, what Lambda runs) answering API Gateway REST API events,
// payload format 1.0, as the private deployment (infra/private-api.cjs) sends them: every route, against
// real parts. The token function's configuration is compiled as `npm run build` compiles it; the demo
// authorization server (oidc-provider) verifies the assertions against the jwks function's own JWKS, and a
// scripted upstream (node:http, port 0) records what proxy mode sends it.
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfigFile } from '#lib/config/compile-config.ts';
import type { HttpResult } from '#lib/http/responses.ts';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { VERSION } from '#lib/version.ts';
import { lambdaContext, type RestApiEventOptions, restApiEvent } from '#test/support/api-gateway-events.ts';
import { type GatewayFixture, startGatewayFixture } from '#test/support/gateway-fixture.ts';

const CICS_KEY = 'cics-private-key-4f2a9c7e1b';
const ZCEE = { id: 'ZCEEPRIV', secret: 'zcee-private-secret-5c2e' };
const BATCH_ROLE = 'arn:aws:sts::123456789012:assumed-role/cics-batch/batch';
/** Every byte value, so a lossy text conversion anywhere would show. */
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

type Entry = (event: unknown, context: Context) => Promise<APIGatewayProxyResult | HttpResult | undefined>;

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

let fixture: GatewayFixture;
let token: Entry;
let jwks: Entry;
let health: Entry;
const seen: Seen[] = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  // The authorization server fetches the gateway's JWKS from the jwks function (payload 2.0 locally).
  fixture = await startGatewayFixture({
    name: 'payload-v1',
    jwks: (event, context) => jwks(event, context) as Promise<HttpResult>,
    scope: 'openid demo.read',
  });
  const { dir } = fixture;
  const upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      // Echoes the body back as bytes, with two cookies.
      res.writeHead(201, {
        'content-type': 'application/octet-stream',
        'set-cookie': ['a=1; Path=/; Secure', 'b=2; Path=/; Secure'],
      });
      res.end(body);
    });
  });
  const upstreamOrigin = await fixture.serve(upstream);
  const source = join(dir, 'gateway.yaml');
  await writeFile(
    source,
    `
environment: development
signingKeys:
  primary: { type: local, path: ${join(dir, 'signing-key.json')}, generate: true }
targets:
  demo: ${JSON.stringify({ ...fixture.demoTarget, proxy: { baseUrl: `${upstreamOrigin}/base` } })}
callers:
  cics:
    apiKeys: [{ sha256: '${apiKeyHash(CICS_KEY)}' }]
    targets: { demo: {} }
  batch:
    iamPrincipals: ['${BATCH_ROLE}']
    targets: { demo: {} }
  zosconnect:
    oauth: { clients: [{ clientId: ${ZCEE.id}, secret: { sha256: '${apiKeyHash(ZCEE.secret)}' } }] }
    targets: { demo: {} }
`,
  );
  const compiled = join(dir, 'gateway.json');
  await writeFile(compiled, JSON.stringify(await compileConfigFile(source)));
  process.env.GATEWAY_CONFIG = compiled;
  Object.assign(process.env, fixture.env);
  // The entry points load the configuration at import, as in a Lambda init.
  token = (await import('#functions/token.ts')).handler as unknown as Entry;
  jwks = (await import('#functions/jwks.ts')).handler as unknown as Entry;
  health = (await import('#functions/health.ts')).handler as unknown as Entry;
}, 60_000);

afterAll(async () => {
  process.env = savedEnv;
  await fixture?.close();
});

/** Invokes an entry point with a REST API event; the answer must be a 1.0 result. */
async function invoke(entry: Entry, options: RestApiEventOptions) {
  const event = restApiEvent(options);
  const result = (await entry(event, lambdaContext())) as APIGatewayProxyResult;
  // 1.0 results: no `cookies` (2.0 only), headers as strings.
  expect(Object.keys(result)).not.toContain('cookies');
  const bytes = Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  const json = () => JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  return { event, result, bytes, json };
}

const apiKey = { 'X-Api-Key': CICS_KEY, 'Content-Type': 'application/json' };
const tokenRequest = JSON.stringify({ target: 'demo', subject: 'CICSUSR1' });

describe('functions with payload format 1.0 (REST API)', () => {
  describe('token', () => {
    it('POST /v1/token: issues a token for an API key caller, body base64-encoded as binary media type */* sends it', async () => {
      // Act
      const { result, json, event } = await invoke(token, {
        resource: '/v1/token',
        path: '/v1/token',
        headers: apiKey,
        body: tokenRequest,
      });

      // Assess
      expect(event.isBase64Encoded).toBe(true);
      expect(result.statusCode).toBe(200);
      expect(result.headers).toMatchObject({ 'content-type': 'application/json', pragma: 'no-cache' });
      expect(json()).toMatchObject({ token_type: 'Bearer', scope: 'demo.read' });
      expect(typeof json().access_token).toBe('string');
    });

    it('POST /v1/token: identifies the IAM principal of an AWS_IAM method (requestContext.identity.userArn)', async () => {
      // Act
      const signed = await invoke(token, {
        resource: '/v1/token',
        path: '/v1/token',
        headers: { 'Content-Type': 'application/json' },
        body: tokenRequest,
        userArn: BATCH_ROLE,
      });
      const unsigned = await invoke(token, {
        resource: '/v1/token',
        path: '/v1/token',
        headers: { 'Content-Type': 'application/json' },
        body: tokenRequest,
      });

      // Assess
      expect(signed.result.statusCode).toBe(200);
      expect(unsigned.result.statusCode).toBe(401);
      expect(unsigned.json()).toMatchObject({ request_id: unsigned.event.requestContext.requestId });
    });

    it('DELETE /v1/token and POST /v1/token/invalidate: drop the cached token', async () => {
      // Prepare
      const issued = await invoke(token, {
        resource: '/v1/token',
        path: '/v1/token',
        headers: apiKey,
        body: tokenRequest,
      });
      const accessToken = issued.json().access_token as string;
      const invalidation = JSON.stringify({ target: 'demo', subject: 'CICSUSR1', access_token: accessToken });

      // Act
      const deleted = await invoke(token, {
        method: 'DELETE',
        resource: '/v1/token',
        path: '/v1/token',
        headers: apiKey,
        body: invalidation,
      });
      const again = await invoke(token, {
        resource: '/v1/token/invalidate',
        path: '/v1/token/invalidate',
        headers: apiKey,
        body: invalidation,
      });

      // Assess
      expect(deleted.result.statusCode).toBe(200);
      expect(deleted.json()).toMatchObject({ invalidated: true });
      expect(again.result.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ invalidated: false });
    });

    it('GET /v1/ready: reports on the dependencies to a known caller', async () => {
      // Act
      const { result, json, event } = await invoke(token, {
        method: 'GET',
        resource: '/v1/ready',
        path: '/v1/ready',
        headers: { 'X-Api-Key': CICS_KEY },
      });

      // Assess
      expect([200, 503]).toContain(result.statusCode);
      expect(json()).toMatchObject({ request_id: event.requestContext.requestId });
      expect(json().status).toMatch(/^(ready|not_ready)$/);
    });

    it('POST /oauth2/{target}/token: the RFC 6749 facade, with its form body and path parameter', async () => {
      // Act
      const { result, json } = await invoke(token, {
        resource: '/oauth2/{target}/token',
        path: '/oauth2/demo/token',
        pathParameters: { target: 'demo' },
        headers: {
          Authorization: `Basic ${Buffer.from(`${ZCEE.id}:${ZCEE.secret}`).toString('base64')}`,
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=password&username=CICSUSR2&password=unused&scope=demo.read',
      });

      // Assess
      expect(result.statusCode).toBe(200);
      expect(result.headers).toMatchObject({ 'cache-control': 'no-store' });
      expect(json()).toMatchObject({ token_type: 'Bearer', scope: 'demo.read' });
    });

    it('ANY /v1/call/{target}/{path+}: proxies a binary body both ways, with the path as sent and the query', async () => {
      // Prepare
      const before = seen.length;

      // Act
      const { result, bytes } = await invoke(token, {
        method: 'PUT',
        resource: '/v1/call/{target}/{path+}',
        path: '/v1/call/demo/accounts/A%20B/statement?from=2026-01-01&tag=a&tag=b%26c',
        pathParameters: { target: 'demo', path: 'accounts/A B/statement' },
        headers: {
          'X-Api-Key': CICS_KEY,
          'X-Subject': 'CICSUSR1',
          'Content-Type': 'application/octet-stream',
        },
        body: BINARY,
      });

      // Assess
      expect(result.statusCode).toBe(201);
      expect(result.isBase64Encoded).toBe(true);
      expect(bytes.equals(BINARY)).toBe(true);
      expect(result.multiValueHeaders).toEqual({
        'set-cookie': ['a=1; Path=/; Secure', 'b=2; Path=/; Secure'],
      });
      const sent = seen.slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({
        method: 'PUT',
        url: '/base/accounts/A%20B/statement?from=2026-01-01&tag=a&tag=b%26c',
      });
      expect(sent[0]!.body.equals(BINARY)).toBe(true);
      expect(sent[0]!.headers.authorization).toMatch(/^Bearer /);
    });

    it('ANY /v1/call/{target}/{path+}: refuses a dot segment with the gateway error body', async () => {
      // Act
      const { result, json } = await invoke(token, {
        method: 'GET',
        resource: '/v1/call/{target}/{path+}',
        path: '/v1/call/demo/a/%2E%2E/admin',
        pathParameters: { target: 'demo', path: 'a/../admin' },
        headers: { 'X-Api-Key': CICS_KEY, 'X-Subject': 'CICSUSR1' },
      });

      // Assess
      expect(result.statusCode).toBe(400);
      expect(result.headers).toMatchObject({ 'x-gateway-error': 'true' });
      expect(json()).toMatchObject({ error: 'invalid_request' });
    });
  });

  describe('jwks', () => {
    it('GET /.well-known/jwks.json: publishes the signing key', async () => {
      // Act
      const { result, json } = await invoke(jwks, {
        method: 'GET',
        resource: '/.well-known/jwks.json',
        path: '/.well-known/jwks.json',
      });

      // Assess
      expect(result.statusCode).toBe(200);
      expect(result.headers).toMatchObject({ 'cache-control': 'public, max-age=300' });
      expect(json().keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256' })]);
    });
  });

  describe('health', () => {
    it('GET /health: answers with the version; other methods 405 with Allow', async () => {
      // Act
      const ok = await invoke(health, { method: 'GET', resource: '/health', path: '/health' });
      const refused = await invoke(health, {
        method: 'POST',
        resource: '/health',
        path: '/health',
        body: '{}',
      });

      // Assess
      expect(ok.result.statusCode).toBe(200);
      expect(ok.json()).toEqual({ status: 'ok', version: VERSION });
      expect(refused.result.statusCode).toBe(405);
      expect(refused.result.headers).toMatchObject({ allow: 'GET, HEAD' });
      expect(refused.json()).toMatchObject({ request_id: refused.event.requestContext.requestId });
    });
  });
});
