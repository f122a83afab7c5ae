import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsFailureKind, awsFailureKind } from '#lib/aws/aws-errors.ts';
import {
  awsClientSettings,
  DYNAMODB_CALL_LIMITS,
  KMS_CALL_LIMITS,
  SECRETS_MANAGER_CALL_LIMITS,
} from '#lib/aws/call-limits.ts';
import { DynamoDbTokenStore } from '#lib/cache/dynamodb-token-store.ts';
import { EnvelopeCipher, KmsDataKeyProvider, LocalDataKeyProvider } from '#lib/cache/envelope-cipher.ts';
import { withDeadline } from '#lib/deadline.ts';
import { isGatewayError } from '#lib/errors.ts';
import { SecretsManagerStore } from '#lib/secrets/secrets-manager-store.ts';
import { KmsSigner } from '#lib/signing/kms-signer.ts';
import { type AwsEmulator, startAwsEmulator } from '#test/support/aws-emulator.ts';
import { type LocalDynamoDb, startDynamoDb } from '#test/support/dynalite.ts';
import { type Fault, type FaultProxy, startFaultProxy } from '#test/support/fault-proxy.ts';

/**
 * One table of faults, every AWS adapter: the same fault must mean the same thing to each (issue 10.3).
 * The faults are real: AWS JSON-protocol error answers, a reset connection and a stall from a proxy in
 * front of the AWS emulator and dynalite, and the SDK's own credential chain finding nothing.
 */
const FAULTS: ReadonlyArray<{ name: string; faults: Fault[]; kind: AwsFailureKind }> = [
  {
    name: 'throttled (ThrottlingException)',
    faults: [awsError(400, 'ThrottlingException')],
    kind: 'transient',
  },
  { name: 'a 500 (InternalFailure)', faults: [awsError(500, 'InternalFailure')], kind: 'transient' },
  { name: 'a 503 (ServiceUnavailable)', faults: [awsError(503, 'ServiceUnavailable')], kind: 'transient' },
  { name: 'a reset connection', faults: [{ kind: 'reset' }], kind: 'transient' },
  { name: 'no answer before the deadline', faults: [{ kind: 'delay', ms: 10_000 }], kind: 'transient' },
  { name: 'access denied', faults: [awsError(400, 'AccessDeniedException')], kind: 'refused' },
  { name: 'an invalid request', faults: [awsError(400, 'ValidationException')], kind: 'refused' },
  { name: 'no credentials', faults: [], kind: 'configuration' },
];

/** What each adapter makes of each kind: an error code, `stale` (the last value served) or `miss`. */
const EXPECTED: Record<string, Record<AwsFailureKind, string>> = {
  'KmsSigner.sign': {
    transient: 'ERR_SIGNING_UNAVAILABLE',
    refused: 'ERR_SIGNING_UNAVAILABLE',
    configuration: 'ERR_AWS_UNCONFIGURED',
  },
  'KmsDataKeyProvider.unwrap': {
    transient: 'ERR_CACHE_UNAVAILABLE',
    refused: 'miss',
    configuration: 'ERR_AWS_UNCONFIGURED',
  },
  'SecretsManagerStore.get': {
    transient: 'stale',
    refused: 'ERR_SECRET_UNAVAILABLE',
    configuration: 'ERR_AWS_UNCONFIGURED',
  },
  'DynamoDbTokenStore.get': {
    transient: 'ERR_CACHE_UNAVAILABLE',
    refused: 'ERR_CACHE_UNAVAILABLE',
    configuration: 'ERR_AWS_UNCONFIGURED',
  },
};

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const SAVED_ENV = { ...process.env };

let emulator: AwsEmulator;
let dynamo: LocalDynamoDb;
let awsProxy: FaultProxy;
let dynamoProxy: FaultProxy;
let signingKeyArn: string;
let cacheKeyId: string;
let wrappedKey: Uint8Array;

beforeAll(async () => {
  // The SDK's default credential chain, with nothing to find (no variables, files or instance role).
  // Every AWS setting goes, except the suppression of the SDK's Node 20 notice (vitest.config.ts).
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('AWS_') && name !== 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED')
      delete process.env[name];
  }
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
  process.env.AWS_CONFIG_FILE = '/nonexistent/config';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  emulator = await startAwsEmulator({ region: REGION });
  dynamo = await startDynamoDb();
  awsProxy = await startFaultProxy(emulator.endpoint);
  dynamoProxy = await startFaultProxy(dynamo.endpoint);
  signingKeyArn = (await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY')).arn;
  cacheKeyId = (await emulator.createKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT')).keyId;
  wrappedKey = (await new KmsDataKeyProvider(kms(), cacheKeyId).generate()).wrapped;
  emulator.putSecret('gateway/client-secret', 'client-secret-value');
});

afterAll(async () => {
  process.env = SAVED_ENV;
  await awsProxy?.close();
  await dynamoProxy?.close();
  await dynamo?.close();
  await emulator?.close();
});

/** Real SDK clients with the gateway's own settings, through the fault proxies; one attempt, so the table
 * shows the policy rather than the SDK's retries. */
function kms(withCredentials = true): KMSClient {
  return new KMSClient({
    ...awsClientSettings(KMS_CALL_LIMITS, 1),
    endpoint: awsProxy.origin,
    region: REGION,
    ...(withCredentials ? { credentials: CREDENTIALS } : {}),
  });
}

function secretsManager(withCredentials = true): SecretsManagerClient {
  return new SecretsManagerClient({
    ...awsClientSettings(SECRETS_MANAGER_CALL_LIMITS, 1),
    endpoint: awsProxy.origin,
    region: REGION,
    ...(withCredentials ? { credentials: CREDENTIALS } : {}),
  });
}

function dynamodb(withCredentials = true): DynamoDBClient {
  return new DynamoDBClient({
    ...awsClientSettings(DYNAMODB_CALL_LIMITS, 1),
    endpoint: dynamoProxy.origin,
    region: REGION,
    ...(withCredentials ? { credentials: CREDENTIALS } : {}),
  });
}

/** Each adapter, ready (its first call succeeded where it caches one), then the call the fault hits. */
const ADAPTERS: Record<string, (withCredentials: boolean) => Promise<() => Promise<unknown>>> = {
  'KmsSigner.sign': async (withCredentials) => {
    const signer = new KmsSigner(kms(withCredentials), { id: 'primary', keyId: signingKeyArn });
    if (withCredentials) await signer.describe();
    return () => signer.sign(new TextEncoder().encode('header.payload'));
  },
  'KmsDataKeyProvider.unwrap': async (withCredentials) => {
    const keys = new KmsDataKeyProvider(kms(withCredentials), cacheKeyId);
    return () => keys.unwrap(wrappedKey);
  },
  'SecretsManagerStore.get': async (withCredentials) => {
    // A TTL (a TTL of 0 keeps no value for an outage), run out on the store's clock before the fault.
    let clock = Date.now();
    const store = new SecretsManagerStore(secretsManager(withCredentials), {
      ttlSeconds: 1,
      now: () => clock,
    });
    if (withCredentials) await store.get('gateway/client-secret');
    clock += 2_000;
    return () => store.get('gateway/client-secret');
  },
  'DynamoDbTokenStore.get': async (withCredentials) => {
    const cipher = new EnvelopeCipher(new LocalDataKeyProvider(async () => Buffer.alloc(32, 7)), {
      rotateAfterMs: 60_000,
      maxCachedKeys: 4,
    });
    const store = new DynamoDbTokenStore(dynamodb(withCredentials), cipher, { tableName: dynamo.tableName });
    return () => store.get(randomUUID());
  },
};

describe('AWS failure policy', () => {
  for (const [adapter, prepare] of Object.entries(ADAPTERS)) {
    describe(adapter, () => {
      for (const { name, faults, kind } of FAULTS) {
        const expected = EXPECTED[adapter]![kind];
        it(`reads ${name} as ${kind}: ${expected}`, async () => {
          // Prepare
          const call = await prepare(kind !== 'configuration');
          const proxy = adapter.startsWith('Dynamo') ? dynamoProxy : awsProxy;
          proxy.inject(...faults);

          // Act: the stall ends at the request's deadline, as it would in a request. Any other fault gets
          // a deadline it cannot reach on a loaded machine, or a slow refusal would read as a stall.
          const stalls = faults.some((fault) => fault.kind === 'delay');
          const outcome = await withDeadline(Date.now() + (stalls ? 500 : 5_000), call).then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          );

          // Assess
          if (expected === 'stale') {
            expect(outcome).toEqual({ value: 'client-secret-value' });
            return;
          }
          expect('error' in outcome).toBe(true);
          const error = (outcome as { error: Error }).error;
          if (expected === 'miss') expect(isGatewayError(error)).toBe(false);
          else expect(error).toMatchObject({ code: expected });
          expect(awsFailureKind(error.cause)).toBe(kind);
        });
      }
    });
  }
});

function awsError(status: number, type: string): Fault {
  return {
    kind: 'status',
    status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type },
    body: JSON.stringify({ __type: type, message: `${type} (injected)` }),
  };
}
