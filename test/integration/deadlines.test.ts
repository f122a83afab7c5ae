import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  awsClientSettings,
  DYNAMODB_CALL_LIMITS,
  KMS_CALL_LIMITS,
  SECRETS_MANAGER_CALL_LIMITS,
} from '#lib/aws/call-limits.ts';
import { createGateway, type GatewayDependencies } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import type { GatewayConfigInput } from '#lib/config/schema.ts';
import { API_ERRORS } from '#lib/http/api-errors.ts';
import { tokenHandler } from '#lib/http/handlers.ts';
import type { HttpResult } from '#lib/http/middleware.ts';
import { oauthTokenHandler } from '#lib/http/oauth-token-handler.ts';
import {
  type DemoAuthorizationServer,
  startDemoAuthorizationServer,
} from '#lib/local/demo-authorization-server.ts';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { SigningKeyRing } from '#lib/signing/key-ring.ts';
import { LocalSigner } from '#lib/signing/local-signer.ts';
import { httpApiEvent, lambdaContext } from '#test/support/api-gateway-events.ts';
import { type AwsEmulator, startAwsEmulator } from '#test/support/aws-emulator.ts';
import { type LocalDynamoDb, startDynamoDb } from '#test/support/dynalite.ts';
import { type FaultProxy, startFaultProxy } from '#test/support/fault-proxy.ts';
import { type HangingEndpoint, startHangingEndpoint } from '#test/support/hanging-endpoint.ts';
import { serveJwks } from '#test/support/jwks-server.ts';
import { freePort } from '#test/support/ports.ts';

/**
 * Issue 10, items 1, 2, 4 and 15: a dependency that accepts the connection and never answers (or answers
 * too slowly, or wrongly) ends the request before the Lambda's own timeout, in a documented code a
 * caller may retry, or in a configuration code when retrying cannot help.
 */
const INLINE_KEY = 'inline-key-5d1f0b7e3a9c4e28';
const HELD_KEY = 'held-key-8a2c6e0f4b1d3957';
const CLIENT_ID = 'gw';
const CLIENT_SECRET = 'gw-secret-3b8d';
const ISSUER = 'gateway';
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
/** The invocation's time in these tests: the deadline is a second less (DEADLINE_MARGIN_MS). */
const LAMBDA_MS = 3_000;

let dir: string;
let as: DemoAuthorizationServer;
let proxy: FaultProxy;
let hanging: HangingEndpoint;
let dynamo: LocalDynamoDb;
let emulator: AwsEmulator;
let jwks: { url: string; close(): Promise<void> };
let keyPath: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deadlines-'));
  keyPath = join(dir, 'primary.json');
  const keyRing = new SigningKeyRing([
    { signer: new LocalSigner({ id: 'primary', path: keyPath, generate: true }), retired: false },
  ]);
  jwks = await serveJwks(keyRing);
  await keyRing.jwks(); // generates the key file the gateways below load
  as = await startDemoAuthorizationServer({
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
        scope: 'openid demo.read',
      },
    ],
    trustedIssuers: [{ issuer: ISSUER, jwksUri: jwks.url, clientIds: [CLIENT_ID] }],
  });
  proxy = await startFaultProxy(as.issuer);
  hanging = await startHangingEndpoint();
  dynamo = await startDynamoDb();
  emulator = await startAwsEmulator({ region: REGION });
  await writeFile(join(dir, 'cache.key'), Buffer.alloc(32, 9).toString('base64'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  await proxy?.close();
  await hanging?.close();
  await dynamo?.close();
  await emulator?.close();
  await as?.close();
  await jwks?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The real SDK clients, with the gateway's own settings, pointed at an endpoint. */
function awsAt(endpoint: string): NonNullable<GatewayDependencies['aws']> {
  const at = { endpoint, region: REGION, credentials: CREDENTIALS };
  return {
    kms: new KMSClient({ ...awsClientSettings(KMS_CALL_LIMITS), ...at }),
    secretsManager: new SecretsManagerClient({ ...awsClientSettings(SECRETS_MANAGER_CALL_LIMITS), ...at }),
    dynamodb: new DynamoDBClient({ ...awsClientSettings(DYNAMODB_CALL_LIMITS, 2), ...at }),
  };
}

const demoTarget = () => ({
  tokenEndpoint: `${proxy.origin}/token`,
  clientId: CLIENT_ID,
  clientAuthentication: { method: 'client_secret_basic' as const, secret: { env: 'CLIENT_SECRET' } },
  assertion: { issuer: ISSUER, audience: { value: as.tokenEndpoint } },
  scope: 'demo.read',
});

/** POST /v1/token through the real handler, on a gateway built from these overrides and AWS clients. */
function tokenEndpointFor(
  overrides: Partial<GatewayConfigInput>,
  aws: NonNullable<GatewayDependencies['aws']>,
  apiKey = INLINE_KEY,
): (context?: Context, subject?: string) => Promise<{ status: number; error?: string; elapsedMs: number }> {
  const { config } = parseConfig(
    {
      signingKeys: { primary: { type: 'local', path: keyPath } },
      targets: { demo: demoTarget() },
      callers: {
        mainframe: { apiKeys: [{ sha256: apiKeyHash(INLINE_KEY) }], targets: { demo: {} } },
      },
      ...overrides,
    },
    'deadlines test',
  );
  const gateway = createGateway(config, { aws, env: { CLIENT_SECRET } });
  const handler = tokenHandler(async () => gateway);
  return async (context = lambdaContextOf(LAMBDA_MS), subject = 'CICSUSR1') => {
    const event = httpApiEvent({ headers: { 'x-api-key': apiKey }, body: { target: 'demo', subject } });
    const started = Date.now();
    const result = (await handler(event, context)) as HttpResult;
    const elapsedMs = Date.now() - started;
    const body = JSON.parse(result.body ?? '{}') as { error?: string };
    return { status: result.statusCode ?? 200, error: body.error, elapsedMs };
  };
}

/** A Lambda context whose remaining time runs down, as the real one does. */
function lambdaContextOf(ms: number): Context {
  const end = Date.now() + ms;
  return { ...lambdaContext(), getRemainingTimeInMillis: () => end - Date.now() };
}

describe('request deadline', () => {
  describe('a hanging AWS endpoint', () => {
    it('ends a hanging KMS Sign in signing_unavailable before the Lambda times out', async () => {
      // Prepare
      const send = tokenEndpointFor(
        { signingKeys: { primary: { type: 'kms', keyId: 'alias/gateway-signing' } } },
        awsAt(hanging.origin),
      );
      const seen = proxy.requests.length;

      // Act
      const answer = await send();

      // Assess
      expect(answer).toMatchObject({ status: 503, error: 'signing_unavailable' });
      expect(API_ERRORS.signing_unavailable.retryable).toBe(true);
      expect(answer.elapsedMs).toBeLessThan(LAMBDA_MS);
      expect(hanging.connections).toBeGreaterThan(0);
      expect(proxy.requests.length).toBe(seen);
    });

    it('ends a hanging KMS Sign (GetPublicKey answered) in signing_unavailable before the Lambda times out', async () => {
      // Prepare: KMS answers GetPublicKey, then the proxy in front of it stalls the Sign.
      const kmsProxy = await startFaultProxy(emulator.endpoint);
      cleanups.push(() => kmsProxy.close());
      const { keyId } = await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY');
      const aws = { ...awsAt(hanging.origin), kms: awsAt(kmsProxy.origin).kms };
      const send = tokenEndpointFor({ signingKeys: { primary: { type: 'kms', keyId } } }, aws);
      // GetPublicKey and Sign answered; the AS refuses a key it does not trust, which is no matter here.
      const warm = await send();
      kmsProxy.inject({ kind: 'delay', ms: 30_000 });
      const seen = kmsProxy.requests.length;

      // Act: another user, so that the refusal of the first (remembered briefly) does not answer.
      const answer = await send(lambdaContextOf(LAMBDA_MS), 'CICSUSR2');

      // Assess
      expect(warm.error).not.toBe('signing_unavailable');
      expect(answer).toMatchObject({ status: 503, error: 'signing_unavailable' });
      expect(answer.elapsedMs).toBeLessThan(LAMBDA_MS);
      // One KMS request this time, the Sign, and it was the one stalled.
      expect(kmsProxy.requests.slice(seen).map((r) => r.fault)).toEqual(['delay']);
    });

    it('reads a slow client secret before the AS attempt starts, so the attempt keeps its whole timeout', async () => {
      // Prepare: Secrets Manager answers in 1.5 s; an attempt at the AS may take 1 s, and there is one.
      emulator.putSecret('gateway/slow-client', CLIENT_SECRET);
      emulator.setLatency('GetSecretValue', 1_500);
      cleanups.push(async () => emulator.setLatency('GetSecretValue', 0));
      const target = {
        ...demoTarget(),
        timeoutMs: 1_000,
        maxRetries: 0,
        clientAuthentication: {
          method: 'client_secret_basic' as const,
          secret: { secretsManager: { secretId: 'gateway/slow-client' } },
        },
      };
      const send = tokenEndpointFor({ targets: { demo: target } }, awsAt(emulator.endpoint));

      // Act
      const answer = await send(lambdaContextOf(10_000));

      // Assess
      expect(answer).toMatchObject({ status: 200 });
    });

    it('ends a hanging client-secret read in secrets_unavailable, without eating an AS attempt', async () => {
      // Prepare
      const target = {
        ...demoTarget(),
        clientAuthentication: {
          method: 'client_secret_basic' as const,
          secret: { secretsManager: { secretId: 'gateway/demo-client' } },
        },
      };
      const send = tokenEndpointFor({ targets: { demo: target } }, awsAt(hanging.origin));
      const seen = proxy.requests.length;

      // Act
      const answer = await send();

      // Assess
      expect(answer).toMatchObject({ status: 503, error: 'secrets_unavailable' });
      expect(answer.elapsedMs).toBeLessThan(LAMBDA_MS);
      expect(proxy.requests.length).toBe(seen); // the authorization server was never asked
    });

    describe('Secrets Manager hanging once the cached value is due (issue 17, item 8)', () => {
      /** A gateway whose client secret is held in Secrets Manager, read once while it answered. */
      async function warmGateway(secretId: string, cacheTtlSeconds: number) {
        emulator.putSecret(secretId, CLIENT_SECRET);
        const target = {
          ...demoTarget(),
          clientAuthentication: {
            method: 'client_secret_basic' as const,
            secret: { secretsManager: { secretId } },
          },
        };
        const send = tokenEndpointFor(
          { targets: { demo: target }, secrets: { cacheTtlSeconds } },
          awsAt(emulator.endpoint),
        );
        const warm = await send(lambdaContextOf(10_000), 'WARMUSR');
        emulator.setLatency('GetSecretValue', 60_000);
        cleanups.push(async () => emulator.setLatency('GetSecretValue', 0));
        return { send, warm };
      }
      const reads = () => emulator.calls.filter((call) => call.operation === 'GetSecretValue').length;

      it('answers secrets_unavailable within the 5 s Secrets Manager limit when caching is off (TTL 0)', async () => {
        // Prepare
        const { send, warm } = await warmGateway('gateway/uncached-client', 0);
        const seen = proxy.requests.length;
        const readsBefore = reads();

        // Act: the production Lambda's time, so that only the Secrets Manager limit can end the wait.
        const answer = await send(lambdaContextOf(30_000));

        // Assess
        expect(warm).toMatchObject({ status: 200 });
        expect(answer).toMatchObject({ status: 503, error: 'secrets_unavailable' });
        expect(answer.elapsedMs).toBeLessThan(6_000);
        expect(proxy.requests.length).toBe(seen); // the authorization server was never blamed
        // One read (the SDK makes at most 3 attempts within it), not one per use of the secret.
        expect(reads() - readsBefore).toBeLessThanOrEqual(3);
      }, 40_000);

      it('serves the last value once, from the end of the failed read, when the TTL is shorter than the read', async () => {
        // Prepare: a 1 s TTL, past by the time Secrets Manager hangs.
        const { send, warm } = await warmGateway('gateway/short-ttl-client', 1);
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        const readsBefore = reads();

        // Act
        const first = await send(lambdaContextOf(30_000), 'CICSUSR7');
        const readsInFirst = reads() - readsBefore;
        const second = await send(lambdaContextOf(30_000), 'CICSUSR8');

        // Assess: the stale value is served after one read, and kept a TTL from when that read failed.
        expect(warm).toMatchObject({ status: 200 });
        expect(first).toMatchObject({ status: 200 });
        expect(first.elapsedMs).toBeLessThan(6_000);
        expect(readsInFirst).toBeLessThanOrEqual(3);
        expect(second).toMatchObject({ status: 200 });
        expect(second.elapsedMs).toBeLessThan(1_000);
        expect(reads() - readsBefore).toBe(readsInFirst);
      }, 40_000);
    });

    it('serves a caller whose API key hash is inline without touching a hanging Secrets Manager', async () => {
      // Prepare: another caller's hash lives in Secrets Manager, which hangs.
      const before = hanging.connections;
      const send = tokenEndpointFor(
        {
          callers: {
            mainframe: { apiKeys: [{ sha256: apiKeyHash(INLINE_KEY) }], targets: { demo: {} } },
            partner: {
              apiKeys: [{ secretsManager: { secretId: 'partner-key-hash' } }],
              targets: { demo: {} },
            },
          },
        },
        awsAt(hanging.origin),
      );

      // Act
      const answer = await send();

      // Assess
      expect(answer).toMatchObject({ status: 200 });
      expect(hanging.connections).toBe(before);
    });

    it('ends a hanging read of a held API key hash in secrets_unavailable', async () => {
      // Prepare
      const send = tokenEndpointFor(
        {
          callers: {
            partner: {
              apiKeys: [{ secretsManager: { secretId: 'partner-key-hash' } }],
              targets: { demo: {} },
            },
          },
        },
        awsAt(hanging.origin),
        HELD_KEY,
      );

      // Act
      const answer = await send();

      // Assess
      expect(answer).toMatchObject({ status: 503, error: 'secrets_unavailable' });
      expect(answer.elapsedMs).toBeLessThan(LAMBDA_MS);
    });

    it('goes on without a hanging DynamoDB and answers with a fresh token in time', async () => {
      // Prepare
      const send = tokenEndpointFor(
        {
          cache: {
            dynamodb: { tableName: 'tokens', encryption: { localKeyFile: join(dir, 'cache.key') } },
          },
        },
        awsAt(hanging.origin),
      );

      // Act
      const answer = await send();

      // Assess
      expect(answer).toMatchObject({ status: 200 });
      expect(answer.elapsedMs).toBeLessThan(LAMBDA_MS);
    });

    it('goes on without the cache when its KMS data key calls hang (DynamoDB up)', async () => {
      // Prepare: DynamoDB answers; KMS (GenerateDataKey for the cache) hangs.
      const aws = { ...awsAt(hanging.origin), dynamodb: awsAt(dynamo.endpoint).dynamodb };
      const send = tokenEndpointFor(
        {
          cache: {
            dynamodb: { tableName: dynamo.tableName, encryption: { kmsKeyId: 'alias/gateway-cache' } },
          },
        },
        aws,
      );

      // Act
      const answer = await send();

      // Assess
      expect(answer).toMatchObject({ status: 200 });
      expect(answer.elapsedMs).toBeLessThan(LAMBDA_MS);
    });
  });

  describe('the Lambda timeout itself', () => {
    it('answers a retryable upstream_timeout (504) when the invocation is about to time out', async () => {
      // Prepare: a gateway that never becomes ready, so nothing inside can notice its own deadline.
      const handler = tokenHandler(() => new Promise(() => undefined));
      const event = httpApiEvent({
        headers: { 'x-api-key': INLINE_KEY },
        body: { target: 'demo', subject: 'CICSUSR1' },
      });

      // Act
      const result = (await handler(event, lambdaContextOf(800))) as HttpResult;

      // Assess
      expect(result.statusCode).toBe(504);
      expect(JSON.parse(result.body ?? '{}')).toMatchObject({ error: 'upstream_timeout' });
      expect(API_ERRORS.upstream_timeout.retryable).toBe(true);
    });

    it('answers the RFC 6749 facade with a retryable 504 temporarily_unavailable too', async () => {
      // Prepare
      const handler = oauthTokenHandler(() => new Promise(() => undefined));
      const event = httpApiEvent({
        path: '/oauth2/demo/token',
        headers: { 'x-api-key': INLINE_KEY, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=password&username=CICSUSR1&password=unused',
      });

      // Act
      const result = (await handler(event, lambdaContextOf(800))) as HttpResult;

      // Assess
      expect(result.statusCode).toBe(504);
      expect(JSON.parse(result.body ?? '{}')).toMatchObject({ error: 'temporarily_unavailable' });
      expect(result.headers).toMatchObject({ 'cache-control': 'no-store', 'x-gateway-error': 'true' });
    });
  });

  describe('a slow authorization server', () => {
    it('makes at most 2 attempts for 6 concurrent gateway requests (one flight)', async () => {
      // Prepare: every token request stalls past the attempt timeout.
      const slow = await startFaultProxy(as.issuer);
      cleanups.push(() => slow.close());
      slow.inject(...Array.from({ length: 10 }, () => ({ kind: 'delay', ms: 3_000 }) as const));
      const send = tokenEndpointFor(
        { targets: { demo: { ...demoTarget(), tokenEndpoint: `${slow.origin}/token`, timeoutMs: 400 } } },
        awsAt(hanging.origin),
      );

      // Act
      const answers = await Promise.all(Array.from({ length: 6 }, () => send(lambdaContextOf(10_000))));

      // Assess
      for (const answer of answers) expect(answer).toMatchObject({ status: 504, error: 'upstream_timeout' });
      expect(slow.requests.length).toBe(2);
    });

    it('starts no retry that could not run its whole timeout before the deadline', async () => {
      // Prepare: 1.8 s to the deadline, 1 s attempts: a second attempt would be cut short.
      const slow = await startFaultProxy(as.issuer);
      cleanups.push(() => slow.close());
      slow.inject({ kind: 'delay', ms: 5_000 }, { kind: 'delay', ms: 5_000 });
      const send = tokenEndpointFor(
        { targets: { demo: { ...demoTarget(), tokenEndpoint: `${slow.origin}/token`, timeoutMs: 1_000 } } },
        awsAt(hanging.origin),
      );

      // Act
      const answer = await send(lambdaContextOf(2_800));

      // Assess
      expect(answer).toMatchObject({ status: 504, error: 'upstream_timeout' });
      expect(slow.requests.length).toBe(1);
    });
  });

  describe('discovery', () => {
    const discovering = (issuer: string) =>
      tokenEndpointFor(
        {
          environment: 'development',
          targets: {
            demo: {
              ...demoTarget(),
              tokenEndpoint: undefined,
              issuer,
              allowInsecureHttp: true,
              timeoutMs: 1_000,
            },
          },
        },
        awsAt(hanging.origin),
      );

    it('answers target_misconfigured (not retryable) when the issuer does not match its metadata', async () => {
      // Act: the proxy serves the server's metadata, whose issuer is the server's own URL.
      const answer = await discovering(proxy.origin)();

      // Assess
      expect(answer).toMatchObject({ status: 502, error: 'target_misconfigured' });
      expect(API_ERRORS.target_misconfigured.retryable).toBe(false);
    });

    it('answers target_misconfigured when the issuer publishes no metadata', async () => {
      // Act
      const answer = await discovering(`${as.issuer}/no-such-tenant`)();

      // Assess
      expect(answer).toMatchObject({ status: 502, error: 'target_misconfigured' });
    });

    it('answers upstream_unavailable (retryable) when discovery cannot connect', async () => {
      // Act
      const answer = await discovering(`http://127.0.0.1:${await freePort()}`)();

      // Assess
      expect(answer).toMatchObject({ status: 502, error: 'upstream_unavailable' });
    });

    it('answers upstream_unavailable when the metadata endpoints fail with 503', async () => {
      // Prepare
      const failing = await startFaultProxy(as.issuer);
      cleanups.push(() => failing.close());
      failing.inject({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });

      // Act
      const answer = await discovering(failing.origin)();

      // Assess
      expect(answer).toMatchObject({ status: 502, error: 'upstream_unavailable' });
    });
  });
});
