import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type CryptoKey, decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway, type GatewayProvider } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import { API_ERRORS, type ApiErrorCode } from '#lib/http/api-errors.ts';
import { callHandler } from '#lib/http/call-handler.ts';
import { jwksHandler, tokenHandler } from '#lib/http/handlers.ts';
import type { HttpResult } from '#lib/http/middleware.ts';
import { oauthTokenHandler } from '#lib/http/oauth-token-handler.ts';
import { errorResponseBody } from '#lib/http/schemas.ts';
import { type DemoApi, startDemoApi, type WhoAmI } from '#lib/local/demo-api.ts';
import type { DemoAuthorizationServer } from '#lib/local/demo-authorization-server.ts';
import type { AuditEvent } from '#lib/policy/audit.ts';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { type HttpApiEventOptions, httpApiEvent, lambdaContext } from '#test/support/api-gateway-events.ts';
import { CLIENT_ID, type GatewayFixture, startGatewayFixture } from '#test/support/gateway-fixture.ts';
import { identityTokenRefusals } from '#test/support/identity-token-refusals.ts';
import { freePort } from '#test/support/ports.ts';

/**
 * Proxy mode with the end user proven, not named: `x-subject-token` carries a JWT the mainframe signed
 * (Liberty jwtBuilder, RACF), verified against the caller's trusted issuer exactly as the RFC 8693 facade
 * verifies a subject_token. Real parts: the demo authorization server, the demo API that verifies its
 * tokens, a recording upstream, and the identity issuer's JWKS on its own HTTP server. Every refusal is
 * checked for what did not happen: no upstream request, no token request.
 */

const RACF_KEY = 'racf-proxy-key-7c1e9a3b5d';
const STRICT_KEY = 'strict-proxy-key-2f8a6c4e0b';
const PLAIN_KEY = 'plain-proxy-key-9d3b7f1a5c';
const DOWN_KEY = 'down-proxy-key-4e6a8c0b2d';
const STRICT_CLIENT = { id: 'ZCEESTRICT', secret: 'strict-client-secret-8b2d' };
const SHARED_KEY = 'shared-proxy-key-1a3c5e7b9d';
const NAMING_KEY = 'naming-proxy-key-6b8d0f2a4c';
const SHARED_CLIENT = { id: 'ZCEESHARED', secret: 'shared-client-secret-6f0b' };
const API_AUDIENCE = 'urn:test:demo-api';
const IDENTITY_ISSUER = 'https://racf.sysa.example.com';
const GATEWAY_AUDIENCE = 'https://gateway.example.com';

interface Seen {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}

let fixture: GatewayFixture;
let as: DemoAuthorizationServer;
let demoApi: DemoApi;
let gateway: Gateway;
let idpKey: CryptoKey;
let idpJwk: JWK;
const seen: Seen[] = [];
const jwksFetches: string[] = [];
const audit: AuditEvent[] = [];
const provider: GatewayProvider = async () => gateway;

beforeAll(async () => {
  fixture = await startGatewayFixture({
    name: 'proxy-identity',
    jwks: jwksHandler(provider),
    scope: 'openid demo.read',
    jwtAccessTokens: { audience: API_AUDIENCE },
  });
  as = fixture.as;
  demoApi = await startDemoApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: API_AUDIENCE });
  const upstream = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  const upstreamOrigin = await fixture.serve(upstream);
  // The mainframe's identity token issuer: a key this test holds, its JWKS served over HTTP.
  const pair = await generateKeyPair('ES256', { extractable: true });
  idpKey = pair.privateKey;
  idpJwk = { ...(await exportJWK(pair.publicKey)), kid: 'sysa-1', alg: 'ES256', use: 'sig' };
  const idpServer = createServer((req, res) => {
    jwksFetches.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [idpJwk] }));
  });
  const idpOrigin = await fixture.serve(idpServer);
  const closedOrigin = `http://127.0.0.1:${await freePort()}`;

  const target = fixture.demoTarget;
  const trust = { issuer: IDENTITY_ISSUER, audience: GATEWAY_AUDIENCE, jwksUrl: `${idpOrigin}/jwks` };
  const { config } = parseConfig(
    {
      environment: 'development',
      signingKeys: { primary: { type: 'local', path: join(fixture.dir, 'primary.json'), generate: true } },
      targets: {
        demo: { ...target, proxy: { baseUrl: demoApi.url, methods: ['GET'], pathPrefixes: ['/whoami'] } },
        api: { ...target, proxy: { baseUrl: `${upstreamOrigin}/base` } },
      },
      callers: {
        racf: {
          apiKeys: [{ sha256: apiKeyHash(RACF_KEY) }],
          oauth: { identityTokens: trust },
          targets: { demo: {}, api: {} },
        },
        strict: {
          apiKeys: [{ sha256: apiKeyHash(STRICT_KEY) }],
          oauth: {
            clients: [{ clientId: STRICT_CLIENT.id, secret: { sha256: apiKeyHash(STRICT_CLIENT.secret) } }],
            // No `required`: proof is the default once an identity issuer is configured.
            identityTokens: trust,
          },
          targets: { api: {} },
        },
        naming: {
          apiKeys: [{ sha256: apiKeyHash(NAMING_KEY) }],
          oauth: { identityTokens: { ...trust, required: false } },
          targets: { api: {} },
        },
        shared: {
          apiKeys: [{ sha256: apiKeyHash(SHARED_KEY) }],
          oauth: {
            clients: [{ clientId: SHARED_CLIENT.id, secret: { sha256: apiKeyHash(SHARED_CLIENT.secret) } }],
            identityTokens: trust,
          },
          targets: { api: {} },
        },
        plain: { apiKeys: [{ sha256: apiKeyHash(PLAIN_KEY) }], targets: { api: {} } },
        down: {
          apiKeys: [{ sha256: apiKeyHash(DOWN_KEY) }],
          oauth: { identityTokens: { ...trust, jwksUrl: `${closedOrigin}/jwks` } },
          targets: { api: {} },
        },
      },
    },
    'proxy identity test',
  );
  gateway = createGateway(config, {
    env: fixture.env,
    audit: { record: (event) => void audit.push(event) },
  });
});

afterAll(async () => {
  await demoApi?.close();
  await fixture?.close();
});

const call = callHandler(provider);
const token = tokenHandler(provider);
const facade = oauthTokenHandler(provider);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  readonly json: () => Record<string, unknown>;
}

async function invoke(
  handler: typeof call | typeof token | typeof facade,
  event: APIGatewayProxyEventV2,
): Promise<Answer> {
  const result = (await handler(event, lambdaContext())) as HttpResult;
  const text = result.isBase64Encoded
    ? Buffer.from(result.body ?? '', 'base64').toString('utf8')
    : (result.body ?? '');
  return {
    status: result.statusCode ?? 200,
    headers: (result.headers ?? {}) as Record<string, string>,
    text,
    json: () => JSON.parse(text),
  };
}

/** A proxied call by the `racf` caller, with no end user unless the test adds one. */
function callEvent(path: string, headers: Record<string, string>, options: HttpApiEventOptions = {}) {
  return httpApiEvent({
    method: 'GET',
    path: `/v1/call/${path}`,
    omitHeaders: ['content-type'],
    ...options,
    headers: { 'x-api-key': RACF_KEY, ...headers },
  });
}

async function identityToken(
  claims: Record<string, unknown> = {},
  options: { key?: CryptoKey; kid?: string; issuedAt?: number; expiresAt?: number | string } = {},
): Promise<string> {
  return new SignJWT({ sub: 'CICSUSR7', iss: IDENTITY_ISSUER, aud: GATEWAY_AUDIENCE, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'sysa-1', typ: 'JWT' })
    .setIssuedAt(options.issuedAt)
    .setExpirationTime(options.expiresAt ?? '2m')
    .sign(options.key ?? idpKey);
}

/** Runs `act` and returns how many requests the upstream API and the authorization server got meanwhile. */
async function counting<T>(act: () => Promise<T>): Promise<{ result: T; upstream: number; as: number }> {
  const before = { upstream: seen.length, as: as.tokenRequests.length };
  const result = await act();
  return { result, upstream: seen.length - before.upstream, as: as.tokenRequests.length - before.as };
}

/** The gateway's own refusal: the documented code and status, the error body, x-gateway-error. */
function expectGatewayError(answer: Answer, code: ApiErrorCode): void {
  expect({ status: answer.status, error: answer.json().error }).toEqual({
    status: API_ERRORS[code].status,
    error: code,
  });
  expect(() => errorResponseBody.parse(answer.json())).not.toThrow();
  expect(answer.headers['x-gateway-error']).toBe('true');
}

describe('callHandler', () => {
  describe('with the end user proven in x-subject-token', () => {
    it("reaches the demo API as the token's sub, and the identity token goes no further", async () => {
      // Prepare
      const subjectToken = await identityToken({ jti: 'sysa-4711' });

      // Act
      const answer = await invoke(call, callEvent('demo/whoami', { 'x-subject-token': subjectToken }));

      // Assess
      expect(answer.status).toBe(200);
      const whoami = answer.json() as unknown as WhoAmI;
      expect(whoami).toMatchObject({ sub: 'CICSUSR7', client_id: CLIENT_ID });
      expect(whoami.headers).toContain('authorization');
      expect(whoami.headers).not.toContain('x-subject-token');
      expect(whoami.headers).not.toContain('x-subject');
      expect(audit.at(-1)).toMatchObject({
        action: 'call',
        caller: 'racf',
        target: 'demo',
        subject: 'CICSUSR7',
        outcome: 'success',
        identity_token_jti: 'sysa-4711',
      });
    });

    it("sends the proven user's token upstream, never the identity token, even padded with blanks", async () => {
      // Prepare
      const subjectToken = await identityToken({ sub: 'CICSUSR8' });

      // Act
      const { result, upstream: calls } = await counting(() =>
        invoke(call, callEvent('api/accounts/7', { 'x-subject-token': `${subjectToken}   ` })),
      );

      // Assess
      expect(result.status).toBe(200);
      expect(calls).toBe(1);
      const request = seen.at(-1)!;
      expect(request.url).toBe('/base/accounts/7');
      expect(request.headers['x-subject-token']).toBeUndefined();
      expect(JSON.stringify(request.headers)).not.toContain(subjectToken);
      const accessToken = String(request.headers.authorization).replace(/^Bearer /, '');
      expect(decodeJwt(accessToken)).toMatchObject({ sub: 'CICSUSR8', aud: API_AUDIENCE });
    });

    const refusals = identityTokenRefusals(identityToken, {
      iss: IDENTITY_ISSUER,
      aud: GATEWAY_AUDIENCE,
      sub: 'CICSUSR7',
    });
    it.each(refusals)(
      'refuses %s with invalid_identity_token, no token request and no upstream call',
      async (_name, make) => {
        // Prepare
        const subjectToken = await make();

        // Act
        const {
          result,
          upstream: calls,
          as: exchanges,
        } = await counting(() =>
          invoke(call, callEvent('api/accounts/7', { 'x-subject-token': subjectToken })),
        );

        // Assess
        expectGatewayError(result, 'invalid_identity_token');
        expect(String(result.json().error_description)).toMatch(/identity token|JWT|key/);
        expect(result.text).not.toContain(subjectToken.split('.')[1] || subjectToken);
        expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
        expect(audit.at(-1)).toMatchObject({ caller: 'racf', outcome: 'invalid_identity_token' });
      },
    );

    it.each([
      ['naming the same user', 'CICSUSR7'],
      ['naming another user', 'SYSADM'],
    ])(
      'refuses x-subject beside x-subject-token (%s) with invalid_request and no calls',
      async (_name, named) => {
        // Prepare
        const subjectToken = await identityToken({ sub: 'CICSUSR7' });

        // Act
        const {
          result,
          upstream: calls,
          as: exchanges,
        } = await counting(() =>
          invoke(call, callEvent('api/accounts/7', { 'x-subject-token': subjectToken, 'x-subject': named })),
        );

        // Assess
        expectGatewayError(result, 'invalid_request');
        expect(result.json().error_description).toMatch(/x-subject or .* x-subject-token, not both/);
        expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
      },
    );

    it("checks the token's sub against the caller's subject pattern like a named user", async () => {
      // Prepare: the default pattern is a RACF user id, which SYSADM/1 is not.
      const subjectToken = await identityToken({ sub: 'SYSADM/1' });

      // Act
      const {
        result,
        upstream: calls,
        as: exchanges,
      } = await counting(() =>
        invoke(call, callEvent('api/accounts/7', { 'x-subject-token': subjectToken })),
      );

      // Assess
      expectGatewayError(result, 'access_denied');
      expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
      expect(audit.at(-1)).toMatchObject({ caller: 'racf', subject: 'SYSADM/1', outcome: 'access_denied' });
    });

    it('refuses an identity token from a caller with no trusted issuer with access_denied', async () => {
      // Prepare
      const subjectToken = await identityToken();
      const event = callEvent('api/accounts/7', { 'x-api-key': PLAIN_KEY, 'x-subject-token': subjectToken });

      // Act
      const { result, upstream: calls, as: exchanges } = await counting(() => invoke(call, event));

      // Assess
      expectGatewayError(result, 'access_denied');
      expect(result.json().error_description).toMatch(/no trusted identity token issuer/);
      expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
    });

    it('refuses a wrong API key before it looks at the identity token (unauthorized_caller, no JWKS fetch)', async () => {
      // Prepare: a token the verifier would refuse, so verifying first would answer invalid_identity_token.
      const subjectToken = await identityToken(
        {},
        { key: (await generateKeyPair('ES256')).privateKey, kid: 'fetch-me' },
      );
      const event = callEvent('api/accounts/7', {
        'x-api-key': 'wrong-key',
        'x-subject-token': subjectToken,
      });
      const fetches = jwksFetches.length;

      // Act
      const { result, upstream: calls, as: exchanges } = await counting(() => invoke(call, event));

      // Assess
      expectGatewayError(result, 'unauthorized_caller');
      expect(jwksFetches.length).toBe(fetches);
      expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
    });

    it("answers upstream_unavailable when the issuer's keys cannot be read, with no calls", async () => {
      // Prepare
      const subjectToken = await identityToken();
      const event = callEvent('api/accounts/7', { 'x-api-key': DOWN_KEY, 'x-subject-token': subjectToken });

      // Act
      const { result, upstream: calls, as: exchanges } = await counting(() => invoke(call, event));

      // Assess
      expectGatewayError(result, 'upstream_unavailable');
      expect(API_ERRORS.upstream_unavailable.retryable).toBe(true);
      expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
    });
  });

  describe('for a caller that opted out of proof (identityTokens.required: false)', () => {
    it('accepts a named user in x-subject', async () => {
      // Prepare
      const event = callEvent('api/accounts/7', { 'x-api-key': NAMING_KEY, 'x-subject': 'CICSUSR7' });

      // Act
      const { result, upstream: calls } = await counting(() => invoke(call, event));

      // Assess
      expect(result.status).toBe(200);
      expect(calls).toBe(1);
      expect(decodeJwt(String(seen.at(-1)?.headers.authorization).slice(7)).sub).toBe('CICSUSR7');
    });
  });

  describe('for a caller that must prove every user (identityTokens.required, the default)', () => {
    it('refuses a bare x-subject with access_denied and no calls', async () => {
      // Prepare
      const event = callEvent('api/accounts/7', { 'x-api-key': STRICT_KEY, 'x-subject': 'CICSUSR7' });

      // Act
      const { result, upstream: calls, as: exchanges } = await counting(() => invoke(call, event));

      // Assess
      expectGatewayError(result, 'access_denied');
      expect(result.json().error_description).toMatch(/must prove the end user/);
      expect({ calls, exchanges }).toEqual({ calls: 0, exchanges: 0 });
      expect(audit.at(-1)).toMatchObject({
        caller: 'strict',
        subject: 'CICSUSR7',
        outcome: 'access_denied',
        identity_token_jti: null,
      });
    });

    it('accepts the same user proven in x-subject-token', async () => {
      // Prepare
      const event = callEvent('api/accounts/7', {
        'x-api-key': STRICT_KEY,
        'x-subject-token': await identityToken(),
      });

      // Act
      const { result, upstream: calls } = await counting(() => invoke(call, event));

      // Assess
      expect(result.status).toBe(200);
      expect(calls).toBe(1);
      expect(decodeJwt(String(seen.at(-1)?.headers.authorization).slice(7)).sub).toBe('CICSUSR7');
    });
  });
});

describe('tokenHandler', () => {
  describe('for a caller that must prove every user', () => {
    it('refuses POST /v1/token, where a user can only be named, with access_denied', async () => {
      // Prepare
      const event = httpApiEvent({
        path: '/v1/token',
        body: { target: 'api', subject: 'CICSUSR7' },
        headers: { 'x-api-key': STRICT_KEY },
      });

      // Act
      const { result, as: exchanges } = await counting(() => invoke(token, event));

      // Assess
      expect({ status: result.status, error: result.json().error }).toEqual({
        status: 403,
        error: 'access_denied',
      });
      expect(exchanges).toBe(0);
    });
  });
});

/** A facade token request (`POST /oauth2/api/token`) with the client's HTTP Basic credentials. */
function form(client: { id: string; secret: string }, params: Record<string, string>) {
  return httpApiEvent({
    path: '/oauth2/api/token',
    body: new URLSearchParams(params).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
    },
  });
}

describe('oauthTokenHandler', () => {
  describe('for a caller that must prove every user', () => {
    it.each([
      ['password', { grant_type: 'password', username: 'CICSUSR7', password: 'x' }],
      ['client_credentials with a subject', { grant_type: 'client_credentials', subject: 'CICSUSR7' }],
    ])('refuses the %s grant with unauthorized_client and no exchange', async (_name, params) => {
      // Act
      const { result, as: exchanges } = await counting(() => invoke(facade, form(STRICT_CLIENT, params)));

      // Assess
      expect({ status: result.status, error: result.json().error }).toEqual({
        status: 400,
        error: 'unauthorized_client',
      });
      expect(result.json().error_description).toMatch(/must prove the end user/);
      expect(exchanges).toBe(0);
    });

    it('issues a token for a user proven by token exchange', async () => {
      // Prepare
      const event = form(STRICT_CLIENT, {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: await identityToken({ sub: 'CICSUSR6' }),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      });

      // Act
      const answer = await invoke(facade, event);

      // Assess
      expect(answer.status).toBe(200);
      expect(decodeJwt(String(answer.json().access_token)).sub).toBe('CICSUSR6');
    });
  });
});

describe('IdentityProof', () => {
  describe('shared by the facade and proxy mode', () => {
    it("reads a caller's issuer JWKS once, whichever route its identity tokens arrive on", async () => {
      // Prepare: the facade's token exchange reads the JWKS for this caller.
      const before = jwksFetches.length;
      const exchanged = await invoke(
        facade,
        form(SHARED_CLIENT, {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: await identityToken(),
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        }),
      );
      expect(exchanged.status).toBe(200);
      const afterFacade = jwksFetches.length;

      // Act
      const answer = await invoke(
        call,
        callEvent('api/accounts/2', { 'x-api-key': SHARED_KEY, 'x-subject-token': await identityToken() }),
      );

      // Assess
      expect(answer.status).toBe(200);
      expect(afterFacade).toBe(before + 1);
      expect(jwksFetches.length).toBe(afterFacade);
    });
  });
});
