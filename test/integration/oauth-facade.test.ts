import { createServer } from 'node:http';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGateway, type Gateway, type GatewayProvider, loggerAudit } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import { oauthTokenForm } from '#lib/facade/token-form.ts';
import { jwksHandler, tokenHandler } from '#lib/http/handlers.ts';
import { OAUTH_TOKEN_ROUTE, oauthTokenHandler } from '#lib/http/oauth-token-handler.ts';
import { schema } from '#lib/http/openapi.ts';
import { oauthErrorResponseBody, oauthTokenResponseBody } from '#lib/http/schemas.ts';
import type { DemoAuthorizationServer } from '#lib/local/demo-authorization-server.ts';
import { createLambdaHttpServer } from '#lib/local/lambda-http-server.ts';
import { logger } from '#lib/observability/logger.ts';
import type { AuditEvent } from '#lib/policy/audit.ts';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { httpApiEvent, lambdaContext } from '#test/support/api-gateway-events.ts';
import { type FaultProxy, startFaultProxy } from '#test/support/fault-proxy.ts';
import { CLIENT_ID, type GatewayFixture, startGatewayFixture } from '#test/support/gateway-fixture.ts';
import { identityTokenRefusals } from '#test/support/identity-token-refusals.ts';
import { freePort } from '#test/support/ports.ts';

/**
 * The RFC 6749 facade driven over HTTP the way IBM documents that z/OS Connect's OAuth client calls a
 * token endpoint: `POST`, `application/x-www-form-urlencoded`, grant `password` or `client_credentials`,
 * client id and secret as HTTP Basic (`basicAuthRef`) or in the body, BAQR-OAUTH-SCOPE / -AUDIENCE /
 * -RESOURCE / -CUSTOM-PARMS as form parameters, and one new request after an API answered 401. Behind
 * it: the real oidc-provider authorization server verifying the gateway's jwt-bearer assertions.
 */

const APP_CLIENT = { id: 'batch-app', secret: 'batch-app-secret-9c1e' };
const introspector = { client_id: 'introspector', client_secret: 'introspector-secret' };
const PAYMENTS_AUDIENCE = 'https://payments.example.com';
const PAYMENTS_RESOURCE = 'https://payments.example.com/v1';

// Caller OAuth clients, as zosconnect_authData would hold them. ZCEE01's secret needs form-encoding.
const ZCEE01 = { id: 'ZCEE01', secret: 'zcee:01%secret+value' };
const ZCEE02 = { id: 'ZCEE02', secret: 'zcee02-secret-5b3d' };
const ZCEE03 = { id: 'ZCEE03', secret: 'zcee03-secret-8e2a' };
const ZCEE04 = { id: 'ZCEE04', secret: 'zcee04-secret-3b6d' };
const APP01 = { id: 'APP01', secret: 'app01-secret-1f7c' };
const RACF01 = { id: 'RACF01', secret: 'racf01-secret-6a9b' };
const RACF02 = { id: 'RACF02', secret: 'racf02-secret-3c5e' };
const RACF05 = { id: 'RACF05', secret: 'racf05-secret-2e8c' };
const RACF03 = { id: 'RACF03', secret: 'racf03-secret-0d4f' };
const RACF04 = { id: 'RACF04', secret: 'racf04-secret-7a1b' };
/** The password z/OS Connect sends (BAQR-OAUTH-PASSWORD): it must go nowhere. */
const PASSWORD = 'Pw-CICSUSR1-7f3e9b1d';
/** The fixed shared value caller zosfixed must send as password. */
const FIXED_PASSWORD = 'Fixed-Shared-Value-4d2c8a';
const IDENTITY_ISSUER = 'https://sysa.example.com/racf';
const ZCEE_DN = 'CN=zceeprod.sysa.example.com,OU=z/OS Connect,O=Example Corp,C=US';
const BRIDGE_ROLE = 'arn:aws:sts::123456789012:assumed-role/zos-bridge/session';
const GATEWAY_AUDIENCE = 'jwt-bearer-gateway';

let fixture: GatewayFixture;
let as: DemoAuthorizationServer;
let origin: string;
let gateway: Gateway;
let proxy: FaultProxy;
const audit: AuditEvent[] = [];
/** Every request the gateway sent upstream (the authorization server, the identity JWKS). */
const upstream: Array<{ url: string; headers: string; body: string }> = [];
const provider: GatewayProvider = async () => gateway;
let idpKey: CryptoKey;
let idpJwk: JWK;

const recordingFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const body = request.body ? await request.clone().text() : '';
  upstream.push({ url: request.url, headers: JSON.stringify([...request.headers]), body });
  return fetch(request);
};

beforeAll(async () => {
  fixture = await startGatewayFixture({
    name: 'oauth-facade',
    jwks: jwksHandler(provider),
    clients: [
      {
        client_id: APP_CLIENT.id,
        client_secret: APP_CLIENT.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        scope: 'demo.read',
      },
      {
        ...introspector,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
      },
    ],
  });
  as = fixture.as;
  const server = createLambdaHttpServer({
    '* /.well-known/jwks.json': jwksHandler(provider),
    '* /v1/token': tokenHandler(provider),
    [OAUTH_TOKEN_ROUTE.replace('POST ', '* ')]: oauthTokenHandler(provider),
  });
  origin = await fixture.serve(server);
  // The mainframe's identity token issuer (RACF, Liberty jwtBuilder): a key this test holds.
  const pair = await generateKeyPair('ES256', { extractable: true });
  idpKey = pair.privateKey;
  idpJwk = { ...(await exportJWK(pair.publicKey)), kid: 'sysa-1', alg: 'ES256', use: 'sig' };
  const idpServer = createServer((req, res) => {
    // /big: a JWKS padded past the 64 KiB the gateway reads, sent without a content-length.
    const keys = req.url === '/big' ? [idpJwk, ...Array(2000).fill({ ...idpJwk, kid: 'padding' })] : [idpJwk];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  const idpOrigin = await fixture.serve(idpServer);
  proxy = await startFaultProxy(as.issuer);
  const demo = {
    ...fixture.demoTarget,
    subject: { template: '{subject}@corp.example', case: 'lower' as const },
  };
  const client = (c: { id: string; secret: string }) => ({
    clientId: c.id,
    secret: { sha256: apiKeyHash(c.secret) },
  });
  const trust = { issuer: IDENTITY_ISSUER, audience: GATEWAY_AUDIENCE, algorithms: ['ES256' as const] };
  const { config } = parseConfig(
    {
      signingKeys: { primary: { type: 'local', path: join(fixture.dir, 'primary.json'), generate: true } },
      targets: {
        demo,
        other: demo,
        untrusted: { ...demo, assertion: { issuer: 'an-issuer-the-as-does-not-trust' } },
        down: { ...demo, tokenEndpoint: `http://127.0.0.1:${await freePort()}/token`, timeoutMs: 2000 },
        flaky: { ...demo, tokenEndpoint: `${proxy.origin}/token` },
        // Its server asks for a pause in one test (the window outlives the test).
        pausing: demo,
        app: {
          issuer: as.issuer,
          tokenEndpoint: as.tokenEndpoint,
          grant: 'client_credentials',
          clientId: APP_CLIENT.id,
          clientAuthentication: { method: 'client_secret_basic', secret: { env: 'APP_CLIENT_SECRET' } },
          scope: 'demo.read',
          maxRetries: 0,
        },
      },
      callers: {
        zosconnect: {
          oauth: { clients: [client(ZCEE01)], reissueAfterSeconds: 3600 },
          targets: {
            demo: { scopes: ['demo.write'], audiences: [PAYMENTS_AUDIENCE], resources: [PAYMENTS_RESOURCE] },
            untrusted: {},
            down: {},
            flaky: {},
          },
        },
        zosfixed: {
          oauth: {
            clients: [{ clientId: ZCEE02.id, secret: { env: 'ZCEE02_SECRET_SHA256' } }],
            password: { required: { env: 'ZCEE02_PASSWORD' } },
          },
          targets: { demo: {} },
        },
        // A z/OS Connect level that keeps every token, opaque ones too (the demo AS issues opaque tokens).
        zosretry: {
          oauth: { clients: [client(ZCEE03)], reissueAfterSeconds: 1, clientCaches: 'any' },
          targets: { demo: {}, pausing: {} },
        },
        // IBM's documented rule (the default): an opaque token is not kept, so asked for on every call.
        zosevery: { oauth: { clients: [client(ZCEE04)], reissueAfterSeconds: 1 }, targets: { demo: {} } },
        zosmtls: { mtlsSubjects: [ZCEE_DN], targets: { demo: {} } },
        zosiam: { iamPrincipals: [BRIDGE_ROLE], targets: { demo: {} } },
        batchapp: { oauth: { clients: [client(APP01)], applicationTokens: true }, targets: { app: {} } },
        racf: {
          oauth: { clients: [client(RACF01)], identityTokens: { ...trust, jwksUrl: `${idpOrigin}/jwks` } },
          targets: { demo: {} },
        },
        racfbig: {
          oauth: { clients: [client(RACF03)], identityTokens: { ...trust, jwksUrl: `${idpOrigin}/big` } },
          targets: { demo: {} },
        },
        racfdown: {
          oauth: {
            clients: [client(RACF04)],
            identityTokens: { ...trust, jwksUrl: `http://127.0.0.1:${await freePort()}/jwks` },
          },
          targets: { demo: {} },
        },
        racfpem: {
          oauth: {
            clients: [client(RACF02)],
            identityTokens: { ...trust, certificate: { env: 'RACF_PEM' } },
          },
          targets: { demo: {} },
        },
        racfbadpem: {
          oauth: {
            clients: [client(RACF05)],
            identityTokens: { ...trust, certificate: { env: 'RACF_BAD_PEM' } },
          },
          targets: { demo: {} },
        },
      },
    },
    'oauth facade test',
  );
  gateway = createGateway(config, {
    fetch: recordingFetch,
    env: {
      ...fixture.env,
      APP_CLIENT_SECRET: APP_CLIENT.secret,
      ZCEE02_SECRET_SHA256: apiKeyHash(ZCEE02.secret),
      ZCEE02_PASSWORD: FIXED_PASSWORD,
      RACF_PEM: await exportSPKI(pair.publicKey),
      // An operator's paste gone wrong: no PEM at all.
      RACF_BAD_PEM: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA (truncated, no BEGIN line)',
    },
    // Captured, and logged as in production, so the password test sees the audit log lines too.
    audit: {
      record: (event) => {
        audit.push(event);
        loggerAudit.record(event);
      },
    },
  });
});

afterAll(async () => {
  await proxy?.close();
  await fixture?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

/** RFC 6749 2.3.1: form-encode id and secret, then base64, as z/OS Connect's basicAuthRef does. */
function basic(client: { id: string; secret: string }, encode = true): string {
  const e = (value: string) => (encode ? new URLSearchParams({ v: value }).toString().slice(2) : value);
  return `Basic ${Buffer.from(`${e(client.id)}:${e(client.secret)}`).toString('base64')}`;
}

async function tokenRequest(
  params: Record<string, string>,
  options: {
    target?: string;
    authorization?: string;
    contentType?: string;
    method?: string;
    /** The form as sent, instead of encoding `params`. */
    rawBody?: string;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
    'user-agent': 'IBM z/OS Connect EE/3.0',
  };
  if (options.authorization) headers.authorization = options.authorization;
  const response = await fetch(`${origin}/oauth2/${options.target ?? 'demo'}/token`, {
    method: options.method ?? 'POST',
    headers,
    body: options.method === 'GET' ? undefined : (options.rawBody ?? new URLSearchParams(params).toString()),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : {} };
}

function expectOAuthError(answer: Answer, status: number, error: string): void {
  expect({ status: answer.status, error: answer.json.error }).toEqual({ status, error });
  expect(Object.keys(answer.json).sort()).toEqual(['error', 'error_description']);
  expect(() => oauthErrorResponseBody.parse(answer.json)).not.toThrow();
  expect(answer.headers.get('cache-control')).toBe('no-store');
  expect(answer.headers.get('pragma')).toBe('no-cache');
  expect(answer.headers.get('x-gateway-error')).toBe('true');
}

async function identityToken(
  claims: Record<string, unknown> = {},
  options: { key?: CryptoKey; kid?: string; issuedAt?: number; expiresAt?: number | string } = {},
): Promise<string> {
  const jwt = new SignJWT({ sub: 'CICSUSR1', iss: IDENTITY_ISSUER, aud: GATEWAY_AUDIENCE, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'sysa-1', typ: 'JWT' })
    .setIssuedAt(options.issuedAt)
    .setExpirationTime(options.expiresAt ?? '2m');
  return jwt.sign(options.key ?? idpKey);
}

const exchange = (subjectToken: string, extra: Record<string, string> = {}) => ({
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token: subjectToken,
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  ...extra,
});

describe('oauthTokenHandler', () => {
  describe('as z/OS Connect calls it', () => {
    it('issues an end-user token for grant_type=password with HTTP Basic client credentials', async () => {
      // Prepare
      const before = as.tokenRequests.length;
      const events = audit.length;

      // Act
      const answer = await tokenRequest(
        { grant_type: 'password', username: 'CICSUSR1', password: PASSWORD, scope: 'demo.read' },
        { authorization: basic(ZCEE01) },
      );

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('pragma')).toBe('no-cache');
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(Object.keys(answer.json).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
      expect(() => oauthTokenResponseBody.parse(answer.json)).not.toThrow();
      expect(answer.json).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'demo.read' });
      expect(await as.introspect(answer.json.access_token as string, introspector)).toMatchObject({
        active: true,
        sub: 'cicsusr1@corp.example',
        client_id: CLIENT_ID,
      });
      const sent = as.tokenRequests.slice(before);
      expect(sent.map((r) => r.grantType)).toEqual(['urn:ietf:params:oauth:grant-type:jwt-bearer']);
      expect(audit.at(-1)).toMatchObject({
        caller: 'zosconnect',
        caller_via: 'oauth_client',
        target: 'demo',
        subject: 'CICSUSR1',
        mapped_subject: 'cicsusr1@corp.example',
        outcome: 'success',
        cache: 'miss',
      });
      // One event for the request, naming the assertion the server accepted (issue 19).
      expect(audit.length - events).toBe(1);
      expect(audit.at(-1)?.assertion_jti).toEqual(expect.any(String));
      expect(audit.at(-1)?.assertion_aud).toEqual(expect.any(String));
    });

    it('accepts the client credentials in the body (client_id, client_secret)', async () => {
      // Act
      const answer = await tokenRequest({
        grant_type: 'password',
        username: 'CICSUSR2',
        password: PASSWORD,
        client_id: ZCEE01.id,
        client_secret: ZCEE01.secret,
      });

      // Assess
      expect(answer.status).toBe(200);
      expect(await as.introspect(answer.json.access_token as string, introspector)).toMatchObject({
        sub: 'cicsusr2@corp.example',
      });
    });

    it('accepts HTTP Basic with the same client_id repeated in the body (not a second method)', async () => {
      // Act
      const answer = await tokenRequest(
        { grant_type: 'password', username: 'CICSUSR2', password: PASSWORD, client_id: ZCEE01.id },
        { authorization: basic(ZCEE01) },
      );
      const other = await tokenRequest(
        { grant_type: 'password', username: 'CICSUSR2', password: PASSWORD, client_id: ZCEE03.id },
        { authorization: basic(ZCEE01) },
      );

      // Assess
      expect(answer.status).toBe(200);
      expectOAuthError(other, 400, 'invalid_request');
    });

    it('accepts HTTP Basic credentials that were not form-encoded (decoded leniently)', async () => {
      // Act
      const answer = await tokenRequest(
        { grant_type: 'password', username: 'CICSUSR2', password: PASSWORD },
        { authorization: basic(ZCEE01, false) },
      );

      // Assess
      expect(answer.status).toBe(200);
    });

    it('takes the user of grant_type=client_credentials from BAQR-OAUTH-CUSTOM-PARMS (subject=...), with scope, audience and resource', async () => {
      // Prepare: BAQR-OAUTH-SCOPE, -AUDIENCE, -RESOURCE and CUSTOM-PARMS "subject=CICSUSR3".
      const params = {
        grant_type: 'client_credentials',
        scope: 'demo.read demo.write',
        audience: PAYMENTS_AUDIENCE,
        resource: PAYMENTS_RESOURCE,
        subject: 'CICSUSR3',
      };

      // Act
      const answer = await tokenRequest(params, { authorization: basic(ZCEE01) });

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.json.scope).toBe('demo.read demo.write');
      const sent = as.tokenRequests.at(-1)!;
      expect(sent.params).toMatchObject({
        audience: PAYMENTS_AUDIENCE,
        resource: PAYMENTS_RESOURCE,
        scope: 'demo.read demo.write',
      });
      expect(await as.introspect(answer.json.access_token as string, introspector)).toMatchObject({
        sub: 'cicsusr3@corp.example',
      });
    });

    it('serves the cached token to a repeat request within the reissue interval (no new exchange)', async () => {
      // Prepare
      const params = { grant_type: 'password', username: 'CICSUSR4', password: PASSWORD };
      const first = await tokenRequest(params, { authorization: basic(ZCEE01) });
      const before = as.tokenRequests.length;

      // Act
      const second = await tokenRequest(params, { authorization: basic(ZCEE01) });

      // Assess
      expect(second.status).toBe(200);
      expect(second.json.access_token).toBe(first.json.access_token);
      expect(second.headers.get('cache-status')).toBe('hit');
      expect(as.tokenRequests.length).toBe(before);
    });

    it('replaces the token after an API refused it (401), once per interval, however many retries arrive', async () => {
      // Prepare: z/OS Connect got a token; the API answered 401 with it (tokenRetryCheckLevel); after the
      // reissue interval (1 s for this caller) it asks again, here ten tasks at once.
      const params = { grant_type: 'password', username: 'CICSUSR5', password: PASSWORD };
      const refused = await tokenRequest(params, { authorization: basic(ZCEE03) });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const before = as.tokenRequests.length;

      // Act
      const retries = await Promise.all(
        Array.from({ length: 10 }, () => tokenRequest(params, { authorization: basic(ZCEE03) })),
      );
      const after = await tokenRequest(params, { authorization: basic(ZCEE03) });

      // Assess
      expect(retries.map((r) => r.status)).toEqual(Array(10).fill(200));
      const tokens = new Set(retries.map((r) => r.json.access_token));
      expect(tokens.size).toBe(1);
      expect(tokens.has(refused.json.access_token)).toBe(false);
      expect(retries.map((r) => r.headers.get('cache-status'))).toContain('replace');
      expect(as.tokenRequests.length - before).toBe(1);
      expect(after.json.access_token).toBe(retries[0]!.json.access_token);
      expect(await as.introspect(after.json.access_token as string, introspector)).toMatchObject({
        active: true,
        sub: 'cicsusr5@corp.example',
      });
    });

    it('serves the still-valid token when the server asked for a pause and a refused token is asked for again', async () => {
      // Prepare: z/OS Connect holds a token the API refused; past the reissue interval it asks again while
      // the server's pause (a 429 with Retry-After: 30, as issue 18 honours it) is open for the target.
      const params = { grant_type: 'password', username: 'CICSPAU2', password: PASSWORD };
      const refused = await tokenRequest(params, { authorization: basic(ZCEE03), target: 'pausing' });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await gateway.admission.openBackoff('as:pausing', Date.now() + 30_000);
      const before = as.tokenRequests.length;

      // Act
      const again = await tokenRequest(params, { authorization: basic(ZCEE03), target: 'pausing' });

      // Assess: the replacement may not be asked for; the token is still valid for 15 minutes, so the
      // caller gets it (stale-if-error, as in a KMS outage) rather than a 503 that leaves it nothing.
      expect(refused.status).toBe(200);
      expect(again.status).toBe(200);
      expect(again.json.access_token).toBe(refused.json.access_token);
      expect(again.headers.get('cache-status')).toBe('stale');
      expect(as.tokenRequests.length - before).toBe(0);
    });

    it('a z/OS Connect that asks on every call (a token it does not keep) causes one exchange per token lifetime', async () => {
      // Prepare: IBM's rule: z/OS Connect keeps a JWT with exp and no jti; this opaque token it does not,
      // so it asks before every API call. Six calls 300 ms apart span five reissue intervals of 1 s.
      const params = { grant_type: 'password', username: 'EVERY01', password: PASSWORD };
      const first = await tokenRequest(params, { authorization: basic(ZCEE04) });
      const before = as.tokenRequests.length;

      // Act
      const asks = [];
      for (let call = 0; call < 6; call++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        asks.push(await tokenRequest(params, { authorization: basic(ZCEE04) }));
      }

      // Assess
      expect(asks.map((ask) => ask.status)).toEqual(Array(6).fill(200));
      expect(new Set(asks.map((ask) => ask.json.access_token))).toEqual(new Set([first.json.access_token]));
      expect(asks.map((ask) => ask.headers.get('cache-status'))).toEqual(Array(6).fill('hit'));
      expect(as.tokenRequests.length - before).toBe(0);
    });

    it('issues an application token for client_credentials without a subject when the caller may', async () => {
      // Act
      const answer = await tokenRequest(
        { grant_type: 'client_credentials' },
        { target: 'app', authorization: basic(APP01) },
      );

      // Assess
      expect(answer.status).toBe(200);
      expect(as.tokenRequests.at(-1)).toMatchObject({
        grantType: 'client_credentials',
        clientId: APP_CLIENT.id,
      });
      expect(audit.at(-1)).toMatchObject({ caller: 'batchapp', subject: '', outcome: 'success' });
    });
  });

  describe('as API Gateway invokes it, with other caller identities', () => {
    const facade = oauthTokenHandler(provider);
    const event = (options: Parameters<typeof httpApiEvent>[0]) => {
      const base = httpApiEvent({
        path: '/oauth2/demo/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=password&username=CICSUSR9&password=unused',
        ...options,
      });
      // API Gateway's route key and path parameter for the route POST /oauth2/{target}/token.
      return { ...base, routeKey: OAUTH_TOKEN_ROUTE, pathParameters: { target: 'demo' } };
    };

    it.each([
      ['a mutual TLS client certificate', 'zosmtls', { clientCert: { subjectDN: ZCEE_DN } }],
      ['an IAM principal', 'zosiam', { iam: { userArn: BRIDGE_ROLE } }],
    ])('identifies the caller by %s, without client credentials', async (_name, caller, options) => {
      // Act
      const result = (await facade(event(options), lambdaContext())) as { statusCode: number; body: string };

      // Assess
      expect(result.statusCode).toBe(200);
      expect(oauthTokenResponseBody.parse(JSON.parse(result.body))).toMatchObject({ token_type: 'Bearer' });
      expect(audit.at(-1)).toMatchObject({ caller, subject: 'CICSUSR9', outcome: 'success' });
    });
  });

  describe('the password', () => {
    it('never appears in logs, audit, cache, the upstream request or the answer', async () => {
      // Prepare: log at DEBUG and capture what the logger writes.
      const written: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        written.push(String(chunk));
        return true;
      });
      logger.setLogLevel('DEBUG');
      // injectLambdaContext resets the level to the initial one (SILENT in tests) on every invocation after
      // the first, as part of Powertools' debug sampling: keep DEBUG for this test.
      vi.spyOn(logger, 'refreshSampleRateCalculation').mockImplementation(() => undefined);
      const upstreamBefore = upstream.length;

      // Act: ignored (zosconnect), required and right, required and wrong (zosfixed).
      let answers: Answer[];
      try {
        answers = [
          await tokenRequest(
            { grant_type: 'password', username: 'CICSUSR6', password: PASSWORD },
            { authorization: basic(ZCEE01) },
          ),
          await tokenRequest(
            { grant_type: 'password', username: 'CICSUSR6', password: FIXED_PASSWORD },
            { authorization: basic(ZCEE02) },
          ),
          await tokenRequest(
            { grant_type: 'password', username: 'CICSUSR6', password: PASSWORD },
            { authorization: basic(ZCEE02) },
          ),
        ];
      } finally {
        logger.setLogLevel('SILENT');
      }

      // Assess
      expect(answers.map((a) => a.status)).toEqual([200, 200, 400]);
      expect(answers[2]!.json.error).toBe('invalid_grant');
      expect(written.join('')).toContain('token request audit');
      const local = (gateway.cache as unknown as { deps: { local: { entries: Map<string, unknown> } } }).deps
        .local;
      const places = {
        logs: written.join('\n'),
        audit: JSON.stringify(audit),
        cache: JSON.stringify([...local.entries]),
        upstream: JSON.stringify(upstream.slice(upstreamBefore)),
        answers: answers.map((a) => a.text).join('\n'),
      };
      expect(places.upstream).toContain('assertion=eyJ');
      for (const [place, text] of Object.entries(places)) {
        expect({ place, password: text.includes(PASSWORD) }).toEqual({ place, password: false });
        expect({ place, fixed: text.includes(FIXED_PASSWORD) }).toEqual({ place, fixed: false });
      }
    });
  });

  describe('token exchange (RFC 8693) with a mainframe-signed identity token', () => {
    it('issues a token for the sub of a valid token (JWKS)', async () => {
      // Act
      const answer = await tokenRequest(exchange(await identityToken()), { authorization: basic(RACF01) });

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.json.issued_token_type).toBe('urn:ietf:params:oauth:token-type:access_token');
      expect(() => oauthTokenResponseBody.parse(answer.json)).not.toThrow();
      expect(await as.introspect(answer.json.access_token as string, introspector)).toMatchObject({
        sub: 'cicsusr1@corp.example',
      });
      expect(audit.at(-1)).toMatchObject({ caller: 'racf', subject: 'CICSUSR1', outcome: 'success' });
    });

    it('issues a token for a valid token verified with a PEM public key', async () => {
      // Act
      const answer = await tokenRequest(exchange(await identityToken({ sub: 'CICSUSR7' })), {
        authorization: basic(RACF02),
      });

      // Assess
      expect(answer.status).toBe(200);
    });

    const refusals = identityTokenRefusals(identityToken, {
      iss: IDENTITY_ISSUER,
      aud: GATEWAY_AUDIENCE,
      sub: 'CICSUSR1',
    });
    it.each(refusals)('refuses %s with invalid_request and no upstream exchange', async (_name, make) => {
      // Prepare
      const subjectToken = await make();
      const before = as.tokenRequests.length;

      // Act
      const answer = await tokenRequest(exchange(subjectToken), { authorization: basic(RACF01) });

      // Assess
      expectOAuthError(answer, 400, 'invalid_request');
      expect(answer.json.error_description).toMatch(/identity token|JWT|key/);
      expect(as.tokenRequests.length).toBe(before);
      expect(audit.at(-1)).toMatchObject({ caller: 'racf', outcome: 'invalid_identity_token' });
    });

    it.each([
      ['oversized', RACF03],
      ['unreachable', RACF04],
    ])(
      'answers 503 temporarily_unavailable when the issuer JWKS is %s, with no upstream exchange',
      async (_name, client) => {
        // Prepare
        const before = as.tokenRequests.length;

        // Act
        const answer = await tokenRequest(exchange(await identityToken()), { authorization: basic(client) });

        // Assess
        expectOAuthError(answer, 503, 'temporarily_unavailable');
        expect(as.tokenRequests.length).toBe(before);
      },
    );

    it('answers a configured certificate that is no PEM as the gateway misconfiguration it is, not the token', async () => {
      // Prepare
      const before = as.tokenRequests.length;

      // Act
      const answer = await tokenRequest(exchange(await identityToken()), { authorization: basic(RACF05) });

      // Assess
      expectOAuthError(answer, 500, 'server_error');
      expect(as.tokenRequests.length).toBe(before);
      expect(audit.at(-1)).toMatchObject({ caller: 'racfbadpem', outcome: 'gateway_misconfigured' });
    });

    it('checks the verified sub against the caller policy like any subject (invalid_grant)', async () => {
      // Prepare
      const before = as.tokenRequests.length;

      // Act
      const answer = await tokenRequest(exchange(await identityToken({ sub: 'SYSADM/1' })), {
        authorization: basic(RACF01),
      });

      // Assess
      expectOAuthError(answer, 400, 'invalid_grant');
      expect(as.tokenRequests.length).toBe(before);
    });

    it.each([
      [
        'a subject_token_type that is no JWT',
        { subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' },
      ],
      [
        'a requested_token_type other than access_token',
        { requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
      ],
      [
        'an actor_token (delegation is not supported)',
        { actor_token: 'x', actor_token_type: 'urn:ietf:params:oauth:token-type:jwt' },
      ],
    ])('refuses %s with invalid_request', async (_name, extra) => {
      // Act
      const answer = await tokenRequest(exchange(await identityToken(), extra), {
        authorization: basic(RACF01),
      });

      // Assess
      expectOAuthError(answer, 400, 'invalid_request');
    });

    it('refuses token exchange for a caller with no trusted issuer (unauthorized_client)', async () => {
      // Act
      const answer = await tokenRequest(exchange(await identityToken()), { authorization: basic(ZCEE01) });

      // Assess
      expectOAuthError(answer, 400, 'unauthorized_client');
    });
  });

  describe('caps every parameter at its documented length (issue 19)', () => {
    // Driven by the form schema that generates docs/openapi.json: each parameter it documents with a
    // maxLength, one character longer, next to an otherwise valid password grant.
    const documented = schema(oauthTokenForm) as { properties: Record<string, { maxLength?: number }> };
    const capped = Object.entries(documented.properties).flatMap(([name, property]) =>
      property.maxLength === undefined ? [] : [[name, property.maxLength] as const],
    );

    it('documents a maxLength for every parameter', () => {
      expect(capped.map(([name]) => name)).toEqual(Object.keys(documented.properties));
    });

    it.each(capped)(
      'refuses %s over %i characters with invalid_request, exchanging nothing',
      async (name, max) => {
        // Prepare
        const before = as.tokenRequests.length;
        const form = {
          grant_type: 'password',
          username: 'CICSUSR1',
          password: PASSWORD,
          [name]: 'A'.repeat(max + 1),
        };

        // Act
        const answer = await tokenRequest(form, { authorization: basic(ZCEE01) });

        // Assess
        expectOAuthError(answer, 400, 'invalid_request');
        expect(answer.json.error_description).toBe(`${name}: longer than ${max} characters`);
        expect(as.tokenRequests.length).toBe(before);
      },
    );
  });

  describe('refuses bad input with RFC 6749 errors, never a 5xx', () => {
    const password = { grant_type: 'password', username: 'CICSUSR1', password: PASSWORD };
    const cases: Array<[string, () => Promise<Answer>, number, string]> = [
      ['no client credentials', () => tokenRequest(password), 401, 'invalid_client'],
      [
        'a wrong client secret',
        () => tokenRequest(password, { authorization: basic({ ...ZCEE01, secret: 'x' }) }),
        401,
        'invalid_client',
      ],
      [
        'an unknown client id',
        () => tokenRequest(password, { authorization: basic({ id: 'NOBODY', secret: 'x' }) }),
        401,
        'invalid_client',
      ],
      [
        'a malformed Basic header',
        () => tokenRequest(password, { authorization: 'Basic !!!' }),
        401,
        'invalid_client',
      ],
      [
        'a client id without secret in the body',
        () => tokenRequest({ ...password, client_id: ZCEE01.id }),
        401,
        'invalid_client',
      ],
      [
        'client credentials both as Basic and in the body',
        () =>
          tokenRequest(
            { ...password, client_id: ZCEE01.id, client_secret: ZCEE01.secret },
            { authorization: basic(ZCEE01) },
          ),
        400,
        'invalid_request',
      ],
      [
        'a percent-encoded byte that is not UTF-8 (it must not become U+FFFD in the subject)',
        () =>
          tokenRequest(
            {},
            {
              authorization: basic(ZCEE01),
              rawBody: 'grant_type=password&username=CICS%FFUSR&password=unused',
            },
          ),
        400,
        'invalid_request',
      ],
      [
        'a JSON body',
        () => tokenRequest(password, { authorization: basic(ZCEE01), contentType: 'application/json' }),
        415,
        'invalid_request',
      ],
      [
        'GET',
        () => tokenRequest({}, { authorization: basic(ZCEE01), method: 'GET' }),
        405,
        'invalid_request',
      ],
      [
        'no grant_type',
        () => tokenRequest({ username: 'CICSUSR1' }, { authorization: basic(ZCEE01) }),
        400,
        'invalid_request',
      ],
      [
        'an unsupported grant',
        () => tokenRequest({ grant_type: 'authorization_code', code: 'x' }, { authorization: basic(ZCEE01) }),
        400,
        'unsupported_grant_type',
      ],
      [
        'an unknown parameter',
        () => tokenRequest({ ...password, colour: 'red' }, { authorization: basic(ZCEE01) }),
        400,
        'invalid_request',
      ],
      [
        'no password',
        () =>
          tokenRequest({ grant_type: 'password', username: 'CICSUSR1' }, { authorization: basic(ZCEE01) }),
        400,
        'invalid_request',
      ],
      [
        'no subject on client_credentials',
        () => tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(ZCEE01) }),
        400,
        'invalid_request',
      ],
      [
        'a control character in the username',
        () => tokenRequest({ ...password, username: 'CICS\u0000USR' }, { authorization: basic(ZCEE01) }),
        400,
        'invalid_request',
      ],
      [
        'a username longer than 256',
        () => tokenRequest({ ...password, username: 'A'.repeat(257) }, { authorization: basic(ZCEE01) }),
        400,
        'invalid_request',
      ],
      [
        'a body over 16 KiB',
        () => tokenRequest({ ...password, scope: 'x'.repeat(17_000) }, { authorization: basic(ZCEE01) }),
        413,
        'invalid_request',
      ],
      [
        'a subject the policy refuses',
        () => tokenRequest({ ...password, username: 'SYSADM/1' }, { authorization: basic(ZCEE01) }),
        400,
        'invalid_grant',
      ],
      [
        'a scope the policy refuses',
        () => tokenRequest({ ...password, scope: 'admin' }, { authorization: basic(ZCEE01) }),
        400,
        'invalid_scope',
      ],
      [
        'an audience the policy refuses',
        () => tokenRequest({ ...password, audience: 'https://x.example' }, { authorization: basic(ZCEE01) }),
        400,
        'invalid_target',
      ],
      [
        'a target the caller may not use',
        () => tokenRequest(password, { authorization: basic(ZCEE01), target: 'other' }),
        400,
        'unauthorized_client',
      ],
      [
        'an unknown target',
        () => tokenRequest(password, { authorization: basic(ZCEE01), target: 'nowhere' }),
        400,
        'unauthorized_client',
      ],
      [
        'an invalid target name',
        () => tokenRequest(password, { authorization: basic(ZCEE01), target: '-x' }),
        400,
        'invalid_request',
      ],
      [
        'a user the authorization server refuses',
        () => tokenRequest(password, { authorization: basic(ZCEE01), target: 'untrusted' }),
        400,
        'invalid_grant',
      ],
    ];
    it.each(cases)('%s', async (_name, send, status, error) => {
      // Act
      const answer = await send();

      // Assess
      expectOAuthError(answer, status, error);
      if (status === 401)
        expect(answer.headers.get('www-authenticate')).toBe(
          'Basic realm="jwt-bearer-gateway", charset="UTF-8"',
        );
    });

    it('answers a Basic secret encoded ISO-8859-1 (é as one byte) with a challenge naming UTF-8 (RFC 7617)', async () => {
      // Prepare: a client that encodes its credentials in Latin-1, as many did before RFC 7617.
      const latin1 = `Basic ${Buffer.from(`${RACF01.id}:${RACF01.secret}\u00e9`, 'latin1').toString('base64')}`;

      // Act
      const answer = await tokenRequest(password, { authorization: latin1 });

      // Assess
      expectOAuthError(answer, 401, 'invalid_client');
      expect(answer.headers.get('www-authenticate')).toBe(
        'Basic realm="jwt-bearer-gateway", charset="UTF-8"',
      );
    });

    it('answers an unreachable authorization server with 503 temporarily_unavailable', async () => {
      // Act
      const answer = await tokenRequest(
        { grant_type: 'password', username: 'CICSUSR1', password: PASSWORD },
        { authorization: basic(ZCEE01), target: 'down' },
      );

      // Assess
      expectOAuthError(answer, 503, 'temporarily_unavailable');
    });

    it("passes the authorization server's Retry-After on with 503 temporarily_unavailable", async () => {
      // Prepare
      proxy.inject({
        kind: 'status',
        status: 503,
        headers: { 'retry-after': '7' },
        body: '{"error":"temporarily_unavailable"}',
      });

      // Act
      const answer = await tokenRequest(
        { grant_type: 'password', username: 'CICSUSR1', password: PASSWORD },
        { authorization: basic(ZCEE01), target: 'flaky' },
      );

      // Assess
      expectOAuthError(answer, 503, 'temporarily_unavailable');
      expect(answer.headers.get('retry-after')).toBe('7');
    });
  });

  describe('POST /v1/token as zosconnect_authToken calls it', () => {
    // basicAuthRef on zosconnect_authorizationServer sends the caller's client credentials as HTTP
    // Basic; requestBody="{"target":"demo","subject":"${userid}"}"; tokenPath="$.access_token".
    const authTokenRequest = (authorization: string) =>
      fetch(`${origin}/v1/token`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ target: 'demo', subject: 'CICSUSR8' }),
      });

    it('identifies the caller by its OAuth client credentials in HTTP Basic', async () => {
      // Act
      const response = await authTokenRequest(basic(ZCEE01));

      // Assess
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access_token: string };
      expect(await as.introspect(body.access_token, introspector)).toMatchObject({
        sub: 'cicsusr8@corp.example',
      });
      expect(audit.at(-1)).toMatchObject({ caller: 'zosconnect', caller_via: 'oauth_client' });
    });

    it('refuses wrong client credentials with 401 unauthorized_caller', async () => {
      // Act
      const response = await authTokenRequest(basic({ ...ZCEE01, secret: 'wrong' }));

      // Assess
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'unauthorized_caller' });
    });
  });
});
