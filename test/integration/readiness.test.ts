// GET /v1/ready through the real handler, against real parts: KMS and Secrets Manager on the AWS protocol
// emulator, DynamoDB on dynalite, the oidc-provider demo authorization server (discovered by issuer) and a
// target whose server is down.
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '#lib/composition.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import type { GatewayConfigInput } from '#lib/config/schema.ts';
import { readinessHandler } from '#lib/http/handlers.ts';
import type { HttpResult } from '#lib/http/middleware.ts';
import { readinessResponseBody } from '#lib/http/schemas.ts';
import {
  type DemoAuthorizationServer,
  startDemoAuthorizationServer,
} from '#lib/local/demo-authorization-server.ts';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { httpApiEvent, lambdaContext } from '#test/support/api-gateway-events.ts';
import { type AwsEmulator, awsClientConfig, startAwsEmulator } from '#test/support/aws-emulator.ts';
import { type LocalDynamoDb, startDynamoDb } from '#test/support/dynalite.ts';
import { freePort } from '#test/support/ports.ts';

const API_KEY = 'ready-probe-key-6d2f8a1c9e3b47d5a0c2e4f6b8d0a1c3';
const SECRET_ID = 'jwt-bearer-gateway/demo-client';

let emulator: AwsEmulator;
let kms: KMSClient;
let secretsManager: SecretsManagerClient;
let dynamodb: LocalDynamoDb;
let as: DemoAuthorizationServer;
let signingKeyArn: string;
let cacheKeyArn: string;
let downPort: number;

function config(targets: GatewayConfigInput['targets']): GatewayConfigInput {
  return {
    signingKeys: { blue: { type: 'kms', keyId: signingKeyArn } },
    targets,
    callers: { monitor: { apiKeys: [{ sha256: apiKeyHash(API_KEY) }], targets: {} } },
    cache: {
      dynamodb: { tableName: dynamodb.tableName, encryption: { kmsKeyId: cacheKeyArn } },
    },
  };
}

const demoTarget = () => ({
  issuer: as.issuer,
  clientId: 'gw',
  clientAuthentication: {
    method: 'client_secret_basic' as const,
    secret: { secretsManager: { secretId: SECRET_ID } },
  },
});

/** A new gateway (so a new probe, with nothing cached) over the shared emulators. */
function gatewayWith(targets: GatewayConfigInput['targets']): Gateway {
  return createGateway(parseConfig(config(targets)).config, {
    aws: { kms, secretsManager, dynamodb: dynamodb.client },
  });
}

async function ready(gateway: Gateway, headers: Record<string, string> = { 'x-api-key': API_KEY }) {
  const handler = readinessHandler(async () => gateway);
  const result = (await handler(
    httpApiEvent({ method: 'GET', path: '/v1/ready', headers }),
    lambdaContext(),
  )) as HttpResult;
  return { status: result.statusCode, body: JSON.parse(result.body as string) };
}

beforeAll(async () => {
  emulator = await startAwsEmulator();
  kms = new KMSClient({ ...awsClientConfig(emulator), maxAttempts: 1 });
  secretsManager = new SecretsManagerClient({ ...awsClientConfig(emulator), maxAttempts: 1 });
  signingKeyArn = (await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY')).arn;
  cacheKeyArn = (await emulator.createKey('SYMMETRIC_DEFAULT')).arn;
  emulator.putSecret(SECRET_ID, 'demo-client-secret');
  dynamodb = await startDynamoDb();
  as = await startDemoAuthorizationServer({ clients: [], trustedIssuers: [] });
  downPort = await freePort();
});

afterAll(async () => {
  await as?.close();
  await dynamodb?.close();
  kms?.destroy();
  secretsManager?.destroy();
  await emulator?.close();
});

beforeEach(() => emulator.resetCalls());

describe('GET /v1/ready', () => {
  describe('every dependency answering', () => {
    it('answers 200 with one ok result per dependency, each checked by one real call', async () => {
      // Prepare
      const gateway = gatewayWith({ demo: demoTarget() });

      // Act
      const { status, body } = await ready(gateway);

      // Assess
      expect(status).toBe(200);
      expect(readinessResponseBody.parse(body)).toMatchObject({ status: 'ready' });
      expect(
        Object.fromEntries(
          Object.entries(body.checks).map(([name, r]) => [name, (r as { status: string }).status]),
        ),
      ).toEqual({
        'signing_key:blue': 'ok',
        'secret:targets.demo.clientAuthentication.secret': 'ok',
        table: 'ok',
        'target:demo': 'ok',
      });
      expect(emulator.countCalls('GetPublicKey')).toBe(1);
      expect(emulator.countCalls('GetSecretValue')).toBe(1);
    });

    it('serves the same report for a while instead of calling the dependencies again', async () => {
      // Prepare
      const gateway = gatewayWith({ demo: demoTarget() });
      const first = await ready(gateway);

      // Act
      const second = await ready(gateway);

      // Assess
      expect(second.body.checked_at).toBe(first.body.checked_at);
      expect(second.body.request_id).not.toBe(first.body.request_id);
      expect(emulator.countCalls('GetPublicKey')).toBe(1);
    });
  });

  describe('a dependency failing', () => {
    it('answers 503 and names each failed dependency: a disabled key, a server that is down', async () => {
      // Prepare
      const key = await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY');
      emulator.disableKey(key.arn);
      const gateway = createGateway(
        parseConfig({
          ...config({
            demo: demoTarget(),
            down: {
              ...demoTarget(),
              issuer: undefined,
              tokenEndpoint: `http://127.0.0.1:${downPort}/token`,
              timeoutMs: 1000,
            },
          }),
          signingKeys: { blue: { type: 'kms', keyId: key.arn } },
        }).config,
        { aws: { kms, secretsManager, dynamodb: dynamodb.client } },
      );

      // Act
      const { status, body } = await ready(gateway);

      // Assess
      expect(status).toBe(503);
      expect(body.status).toBe('not_ready');
      expect(body.checks['signing_key:blue']).toMatchObject({ status: 'failed', error: 'DisabledException' });
      expect(body.checks['target:down']).toMatchObject({ status: 'failed', error: 'unreachable' });
      expect(body.checks['target:demo']).toMatchObject({ status: 'ok' });
      expect(body.checks.table).toMatchObject({ status: 'ok' });
    });

    it('reports a secret Secrets Manager refuses', async () => {
      // Prepare
      const gateway = gatewayWith({ demo: demoTarget() });
      emulator.failNext('GetSecretValue', 'AccessDeniedException');

      // Act
      const { status, body } = await ready(gateway);

      // Assess
      expect(status).toBe(503);
      expect(body.checks['secret:targets.demo.clientAuthentication.secret']).toMatchObject({
        status: 'failed',
      });
      expect(JSON.stringify(body)).not.toContain('demo-client-secret');
    });
  });

  describe('Secrets Manager hanging while its value is cached (issue 17, item 9)', () => {
    it('reports the secret failed: the check reads Secrets Manager, not the cache', async () => {
      // Prepare: the secret is read (and cached) by a token request; then Secrets Manager hangs.
      const gateway = gatewayWith({ demo: demoTarget() });
      await gateway.exchanger.exchange({ target: 'demo', subject: 'CICSUSR1' }).catch(() => undefined);
      expect(emulator.countCalls('GetSecretValue')).toBe(1);
      emulator.setLatency('GetSecretValue', 10_000);

      // Act
      const started = Date.now();
      const { status, body } = await ready(gateway);
      const elapsedMs = Date.now() - started;
      emulator.setLatency('GetSecretValue', 0);

      // Assess: a real, bounded read, within the probe's 3 s.
      expect(status).toBe(503);
      expect(body.checks['secret:targets.demo.clientAuthentication.secret']).toMatchObject({
        status: 'failed',
        error: 'timeout',
      });
      expect(emulator.countCalls('GetSecretValue')).toBe(2);
      expect(elapsedMs).toBeLessThan(4_000);
    });
  });

  describe('who may ask', () => {
    it('refuses an unknown caller with 401 before checking anything', async () => {
      // Prepare
      const gateway = gatewayWith({ demo: demoTarget() });

      // Act
      const { status, body } = await ready(gateway, { 'x-api-key': 'not-a-known-key' });

      // Assess
      expect(status).toBe(401);
      expect(body.error).toBe('unauthorized_caller');
      expect(emulator.countCalls('GetPublicKey')).toBe(0);
    });
  });
});
