import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientSettings, DYNAMODB_CALL_LIMITS } from '#lib/aws/call-limits.ts';
import { createGateway, type Gateway, type GatewayProvider } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import { API_ERRORS, type ApiErrorCode } from '#lib/http/api-errors.ts';
import { healthHandler, jwksHandler, tokenHandler, tokenInvalidationHandler } from '#lib/http/handlers.ts';
import type { HttpResult } from '#lib/http/middleware.ts';
import { errorResponseBody, jwksResponseBody, tokenResponseBody } from '#lib/http/schemas.ts';
import type { DemoAuthorizationServer } from '#lib/local/demo-authorization-server.ts';
import type { AuditEvent } from '#lib/policy/audit.ts';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { LocalSigner } from '#lib/signing/local-signer.ts';
import { VERSION } from '#lib/version.ts';
import { type HttpApiEventOptions, httpApiEvent, lambdaContext } from '#test/support/api-gateway-events.ts';
import {
  ASSERTION_ISSUER,
  CLIENT_ID,
  CLIENT_SECRET,
  type GatewayFixture,
  startGatewayFixture,
} from '#test/support/gateway-fixture.ts';
import { freePort } from '#test/support/ports.ts';

// Callers, one per kind of identity API Gateway can put on a request.
const MAINFRAME_KEY = 'mf-batch-4b1d9e0c7a2f48e6a1d3c5b7e9f0a2c4';
const PARTNER_KEY = 'partner-8c3e1a5b7d9f4c2e6a8b0d1f3e5a7c9b';
const CICS_DN = 'CN=cics-prod.mainframe.example.com,OU=Mainframe,O=Example Corp,C=US';
const BATCH_USER_ARN = 'arn:aws:iam::123456789012:user/batch-runner';
const BRIDGE_ROLE = 'arn:aws:sts::123456789012:assumed-role/mainframe-bridge';
const ZOS_CONNECT = 'zos-connect-prod';

const PAYMENTS_AUDIENCE = 'https://payments.example.com';
const PAYMENTS_RESOURCE = 'https://payments.example.com/v1';
const introspector = { client_id: 'introspector', client_secret: 'introspector-secret' };

let fixture: GatewayFixture;
let dir: string;
let as: DemoAuthorizationServer;
let gateway: Gateway;
const audit: AuditEvent[] = [];
const provider: GatewayProvider = async () => gateway;

beforeAll(async () => {
  // The AS fetches the gateway's JWKS from the real JWKS handler, as in AWS.
  fixture = await startGatewayFixture({
    name: 'handlers',
    jwks: jwksHandler(provider),
    clients: [
      {
        ...introspector,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
      },
    ],
  });
  ({ dir, as } = fixture);
  await writeFile(join(dir, 'cache.key'), Buffer.alloc(32, 7).toString('base64'));
  const demoTarget = {
    ...fixture.demoTarget,
    subject: { template: '{subject}@corp.example', case: 'lower' as const },
  };
  const { config } = parseConfig(
    {
      signingKeys: {
        primary: { type: 'local', path: join(dir, 'primary.json'), generate: true },
        previous: { type: 'local', path: join(dir, 'previous.json'), generate: true, retired: true },
      },
      targets: {
        demo: demoTarget,
        exact: { ...demoTarget, subject: { template: '{subject}', case: 'preserve' as const } },
        'server-scope': { ...demoTarget, scope: undefined },
        restricted: demoTarget,
        untrusted: { ...demoTarget, assertion: { issuer: 'an-issuer-the-as-does-not-trust' } },
        'wrong-secret': {
          ...demoTarget,
          clientAuthentication: { method: 'client_secret_basic', secret: { env: 'WRONG_SECRET' } },
        },
        down: {
          ...demoTarget,
          tokenEndpoint: `http://127.0.0.1:${await freePort()}/token`,
          timeoutMs: 2000,
        },
      },
      callers: {
        mainframe: {
          apiKeys: [{ sha256: apiKeyHash(MAINFRAME_KEY) }],
          targets: {
            demo: { scopes: ['demo.write'], audiences: [PAYMENTS_AUDIENCE], resources: [PAYMENTS_RESOURCE] },
            exact: {},
            'server-scope': { scopes: ['demo.read'] },
            untrusted: {},
            'wrong-secret': {},
            down: {},
          },
        },
        partner: { apiKeys: [{ sha256: apiKeyHash(PARTNER_KEY) }], targets: { restricted: {} } },
        cics: { mtlsSubjects: [CICS_DN], targets: { demo: {} } },
        batch: { iamPrincipals: [BATCH_USER_ARN], targets: { demo: { subjects: '^BATCH[0-9]{2}$' } } },
        bridge: { iamPrincipals: [`${BRIDGE_ROLE}/*`], targets: { demo: {} } },
        zosconnect: { authorizerPrincipals: [ZOS_CONNECT], targets: { demo: {} } },
      },
    },
    'handlers test',
  );
  gateway = createGateway(config, {
    env: { ...fixture.env, WRONG_SECRET: 'not-the-client-secret' },
    audit: { record: (event) => void audit.push(event) },
  });
});

afterAll(async () => {
  await fixture?.close();
});

const token = tokenHandler(provider);
const invalidationByPost = tokenInvalidationHandler(provider);

type Handler = (event: APIGatewayProxyEventV2, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

/** The two routes of one invalidation: DELETE /v1/token and POST /v1/token/invalidate. */
const INVALIDATION_ROUTES: Array<{
  label: string;
  subject: string;
  handler: Handler;
  handlerFor: (gateway: GatewayProvider) => Handler;
  event: (body: unknown, options: HttpApiEventOptions) => APIGatewayProxyEventV2;
}> = [
  {
    label: 'DELETE /v1/token',
    subject: 'CACHED2',
    handler: token,
    handlerFor: tokenHandler,
    event: (body, options) => httpApiEvent({ method: 'DELETE', path: '/v1/token', body, ...options }),
  },
  {
    label: 'POST /v1/token/invalidate',
    subject: 'CACHED3',
    handler: invalidationByPost,
    handlerFor: tokenInvalidationHandler,
    event: (body, options) => ({
      ...httpApiEvent({ method: 'POST', path: '/v1/token/invalidate', body, ...options }),
      routeKey: 'POST /v1/token/invalidate',
    }),
  },
];

async function invoke(
  handler: (event: APIGatewayProxyEventV2, context: ReturnType<typeof lambdaContext>) => Promise<unknown>,
  event: APIGatewayProxyEventV2,
): Promise<HttpResult & { statusCode: number; headers: Record<string, string>; json: unknown }> {
  const result = (await handler(event, lambdaContext())) as HttpResult;
  return {
    ...result,
    statusCode: result.statusCode ?? 200,
    headers: (result.headers ?? {}) as Record<string, string>,
    json: result.body ? JSON.parse(result.body) : undefined,
  };
}

function tokenEvent(body: unknown, options: HttpApiEventOptions = {}): APIGatewayProxyEventV2 {
  return httpApiEvent({ method: 'POST', path: '/v1/token', body, ...options });
}

const withKey = (key: string, options: HttpApiEventOptions = {}): HttpApiEventOptions => ({
  ...options,
  headers: { 'x-api-key': key, ...options.headers },
});

/** A refusal: the documented code and status, the error body, and the request id of the event. */
function expectRefusal(
  response: Awaited<ReturnType<typeof invoke>>,
  event: APIGatewayProxyEventV2,
  code: ApiErrorCode,
): void {
  expect({ status: response.statusCode, error: (response.json as { error?: string }).error }).toEqual({
    status: API_ERRORS[code].status,
    error: code,
  });
  expect(errorResponseBody.parse(response.json)).toEqual({
    error: code,
    error_description: expect.any(String),
    request_id: event.requestContext.requestId,
  });
  expect(response.headers['content-type']).toBe('application/json');
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['x-gateway-error']).toBe('true');
}

describe('tokenHandler', () => {
  describe('issues a token', () => {
    it('to an API key caller, for the mapped subject, with the documented response', async () => {
      // Prepare
      const event = tokenEvent({ target: 'demo', subject: 'CICSUSR1' }, withKey(MAINFRAME_KEY));
      const before = as.tokenRequests.length;
      const startedAt = Math.floor(Date.now() / 1000);

      // Act
      const response = await invoke(token, event);

      // Assess
      expect(response.statusCode).toBe(200);
      expect(response.headers).toMatchObject({
        'content-type': 'application/json',
        'cache-control': 'no-store',
        pragma: 'no-cache',
        'cache-status': 'miss',
      });
      const body = tokenResponseBody.parse(response.json);
      expect(Object.keys(body).sort()).toEqual([
        'access_token',
        'expires_at',
        'expires_in',
        'scope',
        'token_type',
      ]);
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'demo.read' });
      expect(body.expires_at - body.expires_in).toBeGreaterThanOrEqual(startedAt);
      expect(body.expires_at - body.expires_in).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
      expect(await as.introspect(body.access_token, introspector)).toMatchObject({
        active: true,
        sub: 'cicsusr1@corp.example',
        client_id: CLIENT_ID,
        scope: 'demo.read',
      });
      const requests = as.tokenRequests.slice(before);
      expect(requests).toHaveLength(1);
      expect(decodeJwt(requests[0]!.params.assertion!)).toMatchObject({
        iss: ASSERTION_ISSUER,
        sub: 'cicsusr1@corp.example',
        aud: as.tokenEndpoint,
      });
      expect(audit.at(-1)).toMatchObject({
        request_id: event.requestContext.requestId,
        caller: 'mainframe',
        caller_via: 'api_key',
        subject: 'CICSUSR1',
        mapped_subject: 'cicsusr1@corp.example',
        outcome: 'success',
      });
    });

    it('from a base64-encoded body with a charset parameter and an allowed extra scope', async () => {
      // Prepare
      const event = tokenEvent(
        { target: 'demo', subject: 'CICSUSR2', scope: 'demo.read demo.write' },
        withKey(MAINFRAME_KEY, {
          base64: true,
          headers: { 'content-type': 'application/json; charset=UTF-8' },
        }),
      );

      // Act
      const response = await invoke(token, event);

      // Assess
      expect(response.statusCode).toBe(200);
      const body = tokenResponseBody.parse(response.json);
      expect(body.scope).toBe('demo.read demo.write');
      expect(await as.introspect(body.access_token, introspector)).toMatchObject({
        sub: 'cicsusr2@corp.example',
        scope: 'demo.read demo.write',
      });
    });

    it('with extra spaces in the scope normalized before the policy and the server see it', async () => {
      // Prepare
      const event = tokenEvent(
        { target: 'demo', subject: 'CICSUSR3', scope: '  demo.write   demo.read demo.write ' },
        withKey(MAINFRAME_KEY),
      );
      const before = as.tokenRequests.length;

      // Act
      const response = await invoke(token, event);

      // Assess
      expect(response.statusCode).toBe(200);
      expect(as.tokenRequests.slice(before)).toMatchObject([
        { status: 200, params: { scope: 'demo.write demo.read' } },
      ]);
    });

    it('when the audience and resource are on the caller allow-lists', async () => {
      // Prepare
      const event = tokenEvent(
        { target: 'demo', subject: 'CICSUSR1', audience: PAYMENTS_AUDIENCE, resource: PAYMENTS_RESOURCE },
        withKey(MAINFRAME_KEY),
      );
      const before = as.tokenRequests.length;

      // Act
      const response = await invoke(token, event);

      // Assess
      expect(response.statusCode).toBe(200);
      expect(as.tokenRequests.slice(before)[0]?.params).toMatchObject({
        audience: PAYMENTS_AUDIENCE,
        resource: PAYMENTS_RESOURCE,
      });
    });

    const identities: Array<[string, HttpApiEventOptions, string, string]> = [
      [
        'the mutual TLS client certificate subject DN',
        { clientCert: { subjectDN: CICS_DN } },
        'cics',
        'mtls',
      ],
      ['an IAM principal ARN, exactly', { iam: { userArn: BATCH_USER_ARN } }, 'batch', 'iam'],
      [
        'an IAM assumed-role session matching a trailing-* pattern',
        { iam: { userArn: `${BRIDGE_ROLE}/cics-region-42` } },
        'bridge',
        'iam',
      ],
      [
        'the principalId in the Lambda authorizer context',
        { lambdaAuthorizer: { principalId: ZOS_CONNECT, tenant: 'payments' } },
        'zosconnect',
        'authorizer',
      ],
    ];
    for (const [label, options, caller, via] of identities) {
      it(`to a caller identified by ${label}`, async () => {
        // Prepare
        const subject = caller === 'batch' ? 'BATCH07' : 'CICSUSR3';
        const event = tokenEvent({ target: 'demo', subject }, options);

        // Act
        const response = await invoke(token, event);

        // Assess
        expect(response.statusCode).toBe(200);
        const body = tokenResponseBody.parse(response.json);
        expect(await as.introspect(body.access_token, introspector)).toMatchObject({
          active: true,
          sub: `${subject.toLowerCase()}@corp.example`,
          client_id: CLIENT_ID,
        });
        expect(audit.at(-1)).toMatchObject({ caller, caller_via: via, outcome: 'success' });
      });
    }
  });

  describe('caches and invalidates', () => {
    const request = { target: 'demo', subject: 'CACHED1' };

    it('answers a repeated request from the cache (Cache-Status: hit) without the authorization server', async () => {
      // Prepare
      const first = await invoke(token, tokenEvent(request, withKey(MAINFRAME_KEY)));
      const before = as.tokenRequests.length;

      // Act
      const second = await invoke(token, tokenEvent(request, withKey(MAINFRAME_KEY)));

      // Assess
      expect(second.headers['cache-status']).toBe('hit');
      expect((second.json as { access_token: string }).access_token).toBe(
        (first.json as { access_token: string }).access_token,
      );
      expect(as.tokenRequests.length).toBe(before);
      expect(audit.at(-1)).toMatchObject({ action: 'issue', cache: 'hit', assertion_jti: null });
    });

    // DELETE /v1/token, and the same invalidation as a POST for clients that cannot send a body with
    // DELETE (CICS): one code path, so every answer below must be the same on both routes.
    for (const route of INVALIDATION_ROUTES) {
      describe(route.label, () => {
        const request = { target: 'demo', subject: route.subject };
        const invalidation = (accessToken: string, key = MAINFRAME_KEY) =>
          route.event({ ...request, access_token: accessToken }, withKey(key));

        it('drops the cached token only while it is the cached one', async () => {
          // Prepare
          const cached = (await invoke(token, tokenEvent(request, withKey(MAINFRAME_KEY)))).json as {
            access_token: string;
          };

          // Act
          const dropped = await invoke(route.handler, invalidation(cached.access_token));
          const renewed = await invoke(token, tokenEvent(request, withKey(MAINFRAME_KEY)));
          const late = await invoke(route.handler, invalidation(cached.access_token));
          const again = await invoke(token, tokenEvent(request, withKey(MAINFRAME_KEY)));

          // Assess
          expect([dropped.statusCode, dropped.json]).toEqual([200, { invalidated: true }]);
          expect(renewed.headers['cache-status']).toBe('miss');
          expect([late.statusCode, late.json]).toEqual([200, { invalidated: false }]);
          expect(again.headers['cache-status']).toBe('hit');
          expect((again.json as { access_token: string }).access_token).toBe(
            (renewed.json as { access_token: string }).access_token,
          );
          expect(audit.at(-2)).toMatchObject({
            action: 'invalidate',
            outcome: 'success',
            caller: 'mainframe',
          });
        });

        it('accepts an invalidation carrying the longest token the API can issue', async () => {
          // Act
          const response = await invoke(route.handler, invalidation('t'.repeat(8192)));

          // Assess
          expect([response.statusCode, response.json]).toEqual([200, { invalidated: false }]);
        });

        it('applies the caller policy and the body schema', async () => {
          // Prepare
          const byStranger = invalidation('whatever', 'not-a-key');
          const byPartner = invalidation('whatever', PARTNER_KEY);
          const withoutToken = route.event(request, withKey(MAINFRAME_KEY));
          const withUnknownField = route.event(
            { ...request, access_token: 'whatever', extra: 'x' },
            withKey(MAINFRAME_KEY),
          );

          // Act
          const responses = await Promise.all(
            [byStranger, byPartner, withoutToken, withUnknownField].map((event) =>
              invoke(route.handler, event),
            ),
          );

          // Assess
          expectRefusal(responses[0]!, byStranger, 'unauthorized_caller');
          expectRefusal(responses[1]!, byPartner, 'access_denied');
          expectRefusal(responses[2]!, withoutToken, 'invalid_request');
          expectRefusal(responses[3]!, withUnknownField, 'invalid_request');
          expect(audit.find((e) => e.request_id === byPartner.requestContext.requestId)).toMatchObject({
            action: 'invalidate',
            outcome: 'access_denied',
          });
        });

        it('answers 503 cache_unavailable when the shared cache cannot drop the token', async () => {
          // Prepare: the shared cache (DynamoDB) refuses connections; memory alone cannot say "gone".
          const { config } = parseConfig(
            {
              signingKeys: { primary: { type: 'local', path: join(dir, 'primary.json') } },
              targets: {
                demo: {
                  tokenEndpoint: as.tokenEndpoint,
                  clientId: CLIENT_ID,
                  clientAuthentication: { method: 'none' },
                },
              },
              callers: {
                mainframe: { apiKeys: [{ sha256: apiKeyHash(MAINFRAME_KEY) }], targets: { demo: {} } },
              },
              cache: {
                dynamodb: { tableName: 'tokens', encryption: { localKeyFile: join(dir, 'cache.key') } },
              },
            },
            'handlers test, DynamoDB down',
          );
          const dynamodb = new DynamoDBClient({
            ...awsClientSettings(DYNAMODB_CALL_LIMITS, 2),
            endpoint: `http://127.0.0.1:${await freePort()}`,
            region: 'us-east-1',
            credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          });
          const withoutTable = createGateway(config, { aws: { dynamodb } });
          const handler = route.handlerFor(async () => withoutTable);
          const event = invalidation('refused-by-the-api');

          // Act
          const response = await invoke(handler, event);

          // Assess
          expectRefusal(response, event, 'cache_unavailable');
          expect(API_ERRORS.cache_unavailable.retryable).toBe(true);
        });
      });
    }

    it('answers a POST to /v1/token/invalidate only: other methods get 405 with Allow: POST', async () => {
      // Prepare
      const event = httpApiEvent({
        method: 'DELETE',
        path: '/v1/token/invalidate',
        body: { target: 'demo', subject: 'CACHED1', access_token: 'x' },
        ...withKey(MAINFRAME_KEY),
      });

      // Act
      const response = await invoke(invalidationByPost, event);

      // Assess
      expectRefusal(response, event, 'method_not_allowed');
      expect(response.headers.allow).toBe('POST');
    });
  });

  describe('refuses before calling the authorization server', () => {
    const valid = { target: 'demo', subject: 'CICSUSR1' };
    const cases: Array<{ name: string; code: ApiErrorCode; event: () => APIGatewayProxyEventV2 }> = [
      // Caller identification: 401, and a wrong key is never excused by another credential.
      { name: 'no credential at all', code: 'unauthorized_caller', event: () => tokenEvent(valid) },
      {
        name: 'a wrong API key',
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, withKey(`${MAINFRAME_KEY}x`)),
      },
      {
        name: 'an empty API key',
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, withKey('')),
      },
      {
        name: "a wrong API key with another caller's valid client certificate",
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, withKey('not-a-key', { clientCert: { subjectDN: CICS_DN } })),
      },
      {
        name: "a wrong API key with another caller's valid IAM principal",
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, withKey('not-a-key', { iam: { userArn: BATCH_USER_ARN } })),
      },
      {
        name: "one caller's valid API key with another caller's valid client certificate",
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, withKey(MAINFRAME_KEY, { clientCert: { subjectDN: CICS_DN } })),
      },
      {
        name: "one caller's valid client certificate with another caller's IAM principal",
        code: 'unauthorized_caller',
        event: () =>
          tokenEvent(valid, { clientCert: { subjectDN: CICS_DN }, iam: { userArn: BATCH_USER_ARN } }),
      },
      {
        name: 'an unknown client certificate subject',
        code: 'unauthorized_caller',
        event: () =>
          tokenEvent(valid, {
            clientCert: { subjectDN: 'CN=cics-test.mainframe.example.com,O=Example Corp' },
          }),
      },
      {
        name: 'a client certificate subject that only contains a known one',
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, { clientCert: { subjectDN: `${CICS_DN},CN=evil` } }),
      },
      {
        name: 'an IAM principal of another account',
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, { iam: { userArn: 'arn:aws:iam::210987654321:user/batch-runner' } }),
      },
      {
        name: 'an IAM role whose name only starts like the allowed one',
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, { iam: { userArn: `${BRIDGE_ROLE}-evil/session` } }),
      },
      {
        name: 'an unknown Lambda authorizer principalId',
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, { lambdaAuthorizer: { principalId: 'zos-connect-test' } }),
      },
      {
        name: 'a non-string Lambda authorizer principalId',
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, { lambdaAuthorizer: { principalId: [ZOS_CONNECT] } }),
      },
      {
        name: 'two API keys in one header (a repeated header, comma-joined by API Gateway)',
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, withKey(`${MAINFRAME_KEY},${PARTNER_KEY}`)),
      },
      {
        name: 'an IAM identity without a user ARN',
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, { iam: { userArn: null as unknown as string } }),
      },
      {
        name: 'a client certificate without a subject DN',
        code: 'unauthorized_caller',
        event: () => tokenEvent(valid, { clientCert: { subjectDN: null as unknown as string } }),
      },
      // Caller policy: 403, or 404 for a target nobody configured.
      {
        name: 'a target the caller may not use',
        code: 'access_denied',
        event: () => tokenEvent({ target: 'restricted', subject: 'CICSUSR1' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a target another caller may use but this one may not',
        code: 'access_denied',
        event: () => tokenEvent(valid, withKey(PARTNER_KEY)),
      },
      {
        name: 'a lower-case subject (default RACF pattern, case-preserving target)',
        code: 'access_denied',
        event: () => tokenEvent({ target: 'exact', subject: 'cicsusr1' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a 9-character subject (default RACF pattern)',
        code: 'access_denied',
        event: () => tokenEvent({ target: 'demo', subject: 'CICSUSR12' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a subject outside a custom pattern',
        code: 'access_denied',
        event: () => tokenEvent(valid, { iam: { userArn: BATCH_USER_ARN } }),
      },
      {
        name: 'a scope not allowed',
        code: 'access_denied',
        event: () => tokenEvent({ ...valid, scope: 'demo.read demo.admin' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a scope the client has at the AS but the caller may not ask for',
        code: 'access_denied',
        event: () => tokenEvent({ ...valid, scope: 'openid' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'an audience not allowed',
        code: 'access_denied',
        event: () => tokenEvent({ ...valid, audience: 'https://evil.example.com' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a resource not allowed',
        code: 'access_denied',
        event: () => tokenEvent({ ...valid, resource: `${PAYMENTS_RESOURCE}/admin` }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'an audience for a caller with none allowed',
        code: 'access_denied',
        event: () =>
          tokenEvent({ ...valid, audience: PAYMENTS_AUDIENCE }, { clientCert: { subjectDN: CICS_DN } }),
      },
      {
        name: 'an unknown target',
        code: 'unknown_target',
        event: () => tokenEvent({ target: 'nope', subject: 'CICSUSR1' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a target named like an Object.prototype member',
        code: 'unknown_target',
        event: () => tokenEvent({ target: 'constructor', subject: 'CICSUSR1' }, withKey(MAINFRAME_KEY)),
      },
      // The body: 400, 413, 415.
      {
        name: 'a body that is not JSON',
        code: 'invalid_request',
        event: () => tokenEvent('{"target":"demo","subject":', withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a JSON body that is not an object',
        code: 'invalid_request',
        event: () => tokenEvent('["demo","CICSUSR1"]', withKey(MAINFRAME_KEY)),
      },
      {
        name: 'an empty body',
        code: 'invalid_request',
        event: () => tokenEvent(undefined, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'an unknown field',
        code: 'invalid_request',
        event: () => tokenEvent({ ...valid, client_id: 'other' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a __proto__ member',
        code: 'invalid_request',
        event: () =>
          tokenEvent(
            '{"target":"demo","subject":"CICSUSR1","__proto__":{"scope":"demo.admin"}}',
            withKey(MAINFRAME_KEY),
          ),
      },
      {
        name: 'a missing subject',
        code: 'invalid_request',
        event: () => tokenEvent({ target: 'demo' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a subject that is not a string',
        code: 'invalid_request',
        event: () => tokenEvent({ target: 'demo', subject: 12345678 }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'an over-long subject (257 characters)',
        code: 'invalid_request',
        event: () => tokenEvent({ target: 'demo', subject: 'A'.repeat(257) }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a control character in the subject',
        code: 'invalid_request',
        event: () => tokenEvent({ target: 'demo', subject: 'CICS\u0000USR' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a line break in the subject',
        code: 'invalid_request',
        event: () => tokenEvent({ target: 'demo', subject: 'CICSUSR1\nadmin' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a C1 control character in the scope',
        code: 'invalid_request',
        event: () => tokenEvent({ ...valid, scope: 'demo.read\u0085' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a target name with a path in it',
        code: 'invalid_request',
        event: () => tokenEvent({ target: '../demo', subject: 'CICSUSR1' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a text/plain body',
        code: 'unsupported_media_type',
        event: () => tokenEvent(valid, withKey(MAINFRAME_KEY, { headers: { 'content-type': 'text/plain' } })),
      },
      {
        name: 'a form-encoded body',
        code: 'unsupported_media_type',
        event: () =>
          tokenEvent(
            'target=demo&subject=CICSUSR1',
            withKey(MAINFRAME_KEY, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
          ),
      },
      {
        name: 'no content-type',
        code: 'unsupported_media_type',
        event: () => tokenEvent(valid, withKey(MAINFRAME_KEY, { omitHeaders: ['content-type'] })),
      },
      {
        name: 'a content-type that only starts with application/json',
        code: 'unsupported_media_type',
        event: () =>
          tokenEvent(valid, withKey(MAINFRAME_KEY, { headers: { 'content-type': 'application/jsonp' } })),
      },
      {
        name: 'a body that is not valid UTF-8 (a Latin-1 é)',
        code: 'invalid_request',
        event: () => {
          const event = tokenEvent(valid, withKey(MAINFRAME_KEY));
          const bytes = Buffer.concat([
            Buffer.from('{"target":"demo","subject":"CICS'),
            Buffer.from([0xe9]),
            Buffer.from('"}'),
          ]);
          return { ...event, body: bytes.toString('base64'), isBase64Encoded: true };
        },
      },
      {
        name: 'a field sent twice (JSON would silently keep the last)',
        code: 'invalid_request',
        event: () =>
          tokenEvent('{"target":"demo","subject":"ADMIN1","subject":"CICSUSR1"}', withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a field sent twice, once escaped',
        code: 'invalid_request',
        event: () =>
          tokenEvent(
            '{"target":"demo","subject":"ADMIN1","\\u0073ubject":"CICSUSR1"}',
            withKey(MAINFRAME_KEY),
          ),
      },
      {
        name: 'a scope with a tab (RFC 6749 3.3 scope tokens are NQCHAR)',
        code: 'invalid_request',
        event: () => tokenEvent({ ...valid, scope: 'demo.read\tdemo.write' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a scope of spaces only',
        code: 'invalid_request',
        event: () => tokenEvent({ ...valid, scope: '   ' }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a body over 16 KiB',
        code: 'payload_too_large',
        event: () => tokenEvent({ ...valid, scope: 'x'.repeat(16 * 1024) }, withKey(MAINFRAME_KEY)),
      },
      {
        name: 'a base64 body over 16 KiB once decoded',
        code: 'payload_too_large',
        event: () =>
          tokenEvent({ ...valid, scope: 'x'.repeat(16 * 1024) }, withKey(MAINFRAME_KEY, { base64: true })),
      },
    ];

    for (const { name, code, event: makeEvent } of cases) {
      it(`${name}: ${API_ERRORS[code].status} ${code}`, async () => {
        // Prepare
        const event = makeEvent();
        const before = as.tokenRequests.length;

        // Act
        const response = await invoke(token, event);

        // Assess
        expectRefusal(response, event, code);
        expect(as.tokenRequests.length).toBe(before);
      });
    }

    it('a wrong HTTP method: 405 with an Allow header, before reading anything', async () => {
      // Prepare
      const event = httpApiEvent({
        method: 'GET',
        path: '/v1/token',
        headers: { 'x-api-key': MAINFRAME_KEY },
      });
      const before = as.tokenRequests.length;

      // Act
      const response = await invoke(token, event);

      // Assess
      expectRefusal(response, event, 'method_not_allowed');
      expect(response.headers.allow).toBe('POST, DELETE');
      expect(as.tokenRequests.length).toBe(before);
    });

    it('records every refusal in the audit log with its code, and never the API key', async () => {
      // Prepare
      const event = tokenEvent({ target: 'exact', subject: 'cicsusr1' }, withKey(MAINFRAME_KEY));

      // Act
      await invoke(token, event);

      // Assess
      const entry = audit.find((e) => e.request_id === event.requestContext.requestId);
      expect(entry).toMatchObject({ caller: 'mainframe', outcome: 'access_denied', assertion_jti: null });
      expect(JSON.stringify(audit)).not.toContain(MAINFRAME_KEY);
    });
  });

  describe('reports authorization server failures', () => {
    it("maps the server's invalid_grant to 400 invalid_grant", async () => {
      // Prepare
      const event = tokenEvent({ target: 'untrusted', subject: 'CICSUSR1' }, withKey(MAINFRAME_KEY));
      const before = as.tokenRequests.length;

      // Act
      const response = await invoke(token, event);

      // Assess
      expectRefusal(response, event, 'invalid_grant');
      expect((response.json as { error_description: string }).error_description).toMatch(/not trusted/);
      expect(as.tokenRequests.slice(before)).toMatchObject([{ status: 400, error: 'invalid_grant' }]);
      expect(audit.at(-1)).toMatchObject({ outcome: 'invalid_grant', upstream_error: 'invalid_grant' });
    });

    it('audits a refused grant with the assertion the server refused, and its negative-cache repeat with the mapped subject', async () => {
      // Prepare
      const event = tokenEvent({ target: 'untrusted', subject: 'AUDIT1' }, withKey(MAINFRAME_KEY));
      const repeat = tokenEvent({ target: 'untrusted', subject: 'AUDIT1' }, withKey(MAINFRAME_KEY));
      const before = as.tokenRequests.length;

      // Act
      await invoke(token, event);
      await invoke(token, repeat);

      // Assess
      const sent = decodeJwt(as.tokenRequests[before]!.params.assertion!);
      expect(as.tokenRequests.length - before).toBe(1);
      expect(audit.find((e) => e.request_id === event.requestContext.requestId)).toMatchObject({
        outcome: 'invalid_grant',
        assertion_jti: sent.jti,
        assertion_aud: sent.aud,
        mapped_subject: 'audit1@corp.example',
      });
      expect(audit.find((e) => e.request_id === repeat.requestContext.requestId)).toMatchObject({
        outcome: 'invalid_grant',
        cache: 'hit',
        assertion_jti: null,
        mapped_subject: 'audit1@corp.example',
      });
    });

    it('audits a refused client (invalid_client) with the assertion that was sent', async () => {
      // Prepare
      const event = tokenEvent({ target: 'wrong-secret', subject: 'AUDIT2' }, withKey(MAINFRAME_KEY));
      const before = as.tokenRequests.length;

      // Act
      await invoke(token, event);

      // Assess
      const sent = decodeJwt(as.tokenRequests[before]!.params.assertion!);
      expect(audit.find((e) => e.request_id === event.requestContext.requestId)).toMatchObject({
        outcome: 'upstream_misconfigured',
        upstream_error: 'invalid_client',
        assertion_jti: sent.jti,
        assertion_aud: sent.aud,
        mapped_subject: 'audit2@corp.example',
      });
    });

    it("refuses a token the server granted beyond the caller's scopes (no scope asked, server default)", async () => {
      // Prepare: the target sets no default scope, so the server grants the client's whole registration.
      const event = tokenEvent({ target: 'server-scope', subject: 'SCOPE1' }, withKey(MAINFRAME_KEY));
      const allowed = tokenEvent(
        { target: 'server-scope', subject: 'SCOPE1', scope: 'demo.read' },
        withKey(MAINFRAME_KEY),
      );

      // Act
      const refused = await invoke(token, event);
      const granted = await invoke(token, allowed);

      // Assess
      expectRefusal(refused, event, 'access_denied');
      expect((refused.json as { error_description: string }).error_description).toMatch(/demo.write/);
      expect(granted.statusCode).toBe(200);
      expect((granted.json as { scope: string }).scope).toBe('demo.read');
    });

    it('accepts a lower-case subject on a case-folding target: it is the same user', async () => {
      // Prepare
      const event = tokenEvent({ target: 'demo', subject: 'cicsusr9' }, withKey(MAINFRAME_KEY));

      // Act
      const response = await invoke(token, event);

      // Assess
      expect(response.statusCode).toBe(200);
      expect(
        await as.introspect((response.json as { access_token: string }).access_token, introspector),
      ).toMatchObject({
        sub: 'cicsusr9@corp.example',
      });
    });

    it('maps a refused client secret to 502 upstream_misconfigured, without the secret', async () => {
      // Prepare
      const event = tokenEvent({ target: 'wrong-secret', subject: 'CICSUSR1' }, withKey(MAINFRAME_KEY));
      const before = as.tokenRequests.length;

      // Act
      const response = await invoke(token, event);

      // Assess
      expectRefusal(response, event, 'upstream_misconfigured');
      expect(as.tokenRequests.slice(before)).toMatchObject([{ error: 'invalid_client' }]);
      expect(response.body).not.toContain('not-the-client-secret');
      expect(response.body).not.toContain(CLIENT_SECRET);
    });

    it('maps an unreachable server to 502 upstream_unavailable', async () => {
      // Prepare
      const event = tokenEvent({ target: 'down', subject: 'CICSUSR1' }, withKey(MAINFRAME_KEY));

      // Act
      const response = await invoke(token, event);

      // Assess
      expectRefusal(response, event, 'upstream_unavailable');
      expect(audit.at(-1)).toMatchObject({ caller: 'mainframe', outcome: 'upstream_unavailable' });
    });
  });
});

describe('jwksHandler', () => {
  it('publishes every configured key, the retired one included, and no private part', async () => {
    // Prepare
    const event = httpApiEvent({
      method: 'GET',
      path: '/.well-known/jwks.json',
      omitHeaders: ['content-type'],
    });

    // Act
    const response = await invoke(jwksHandler(provider), event);

    // Assess
    const kids = await Promise.all(
      ['primary.json', 'previous.json'].map(
        async (file) => (await new LocalSigner({ id: file, path: join(dir, file) }).describe()).publicJwk.kid,
      ),
    );
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('public, max-age=300');
    const { keys } = jwksResponseBody.parse(response.json);
    expect(keys.map((key) => key.kid).sort()).toEqual([...kids].sort());
    for (const key of keys) {
      expect(key).toMatchObject({ use: 'sig', alg: 'ES256', kty: 'EC' });
      expect(key).not.toHaveProperty('d');
    }
  });

  it('refuses POST with 405 and Allow: GET, HEAD', async () => {
    // Prepare
    const event = httpApiEvent({ method: 'POST', path: '/.well-known/jwks.json', body: {} });

    // Act
    const response = await invoke(jwksHandler(provider), event);

    // Assess
    expectRefusal(response, event, 'method_not_allowed');
    expect(response.headers.allow).toBe('GET, HEAD');
  });
});

describe('healthHandler', () => {
  it('answers status and version, and nothing of the configuration', async () => {
    // Prepare
    const event = httpApiEvent({ method: 'GET', path: '/health', omitHeaders: ['content-type'] });

    // Act
    const response = await invoke(healthHandler(), event);

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({ status: 'ok', version: VERSION });
    for (const secretish of [as.issuer, CLIENT_ID, 'primary', 'mainframe']) {
      expect(response.body).not.toContain(secretish);
    }
  });

  it('refuses DELETE with 405', async () => {
    // Prepare
    const event = httpApiEvent({ method: 'DELETE', path: '/health' });

    // Act
    const response = await invoke(healthHandler(), event);

    // Assess
    expectRefusal(response, event, 'method_not_allowed');
    expect(response.headers.allow).toBe('GET, HEAD');
  });
});
