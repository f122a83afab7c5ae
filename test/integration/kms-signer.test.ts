import { createHash, createPublicKey } from 'node:crypto';
import {
  GetPublicKeyCommand,
  KMSClient,
  type KMSClientConfig,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, exportJWK, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildAssertion } from '#lib/assertion/build-assertion.ts';
import { GatewayError, type GatewayErrorCode } from '#lib/errors.ts';
import type { JwsAlgorithm } from '#lib/signing/algorithms.ts';
import { SigningKeyRing } from '#lib/signing/key-ring.ts';
import { KmsSigner, type KmsSignerOptions } from '#lib/signing/kms-signer.ts';
import { type AwsEmulator, awsClientConfig, startAwsEmulator } from '#test/support/aws-emulator.ts';
import { rejectsWithGatewayError } from '#test/support/gateway-error.ts';
import { freePort } from '#test/support/ports.ts';

/** Each JWS algorithm, the KMS key spec it runs on, and what the Sign request must say. */
const ALGORITHMS: ReadonlyArray<{
  alg: JwsAlgorithm;
  keySpec: 'ECC_NIST_P256' | 'ECC_NIST_P384' | 'ECC_NIST_P521' | 'RSA_2048';
  kmsSigningAlgorithm: string;
  hash: 'sha256' | 'sha384' | 'sha512';
}> = [
  { alg: 'ES256', keySpec: 'ECC_NIST_P256', kmsSigningAlgorithm: 'ECDSA_SHA_256', hash: 'sha256' },
  { alg: 'ES384', keySpec: 'ECC_NIST_P384', kmsSigningAlgorithm: 'ECDSA_SHA_384', hash: 'sha384' },
  { alg: 'ES512', keySpec: 'ECC_NIST_P521', kmsSigningAlgorithm: 'ECDSA_SHA_512', hash: 'sha512' },
  { alg: 'RS256', keySpec: 'RSA_2048', kmsSigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256' },
  { alg: 'RS384', keySpec: 'RSA_2048', kmsSigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_384', hash: 'sha384' },
  { alg: 'RS512', keySpec: 'RSA_2048', kmsSigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_512', hash: 'sha512' },
  { alg: 'PS256', keySpec: 'RSA_2048', kmsSigningAlgorithm: 'RSASSA_PSS_SHA_256', hash: 'sha256' },
  { alg: 'PS384', keySpec: 'RSA_2048', kmsSigningAlgorithm: 'RSASSA_PSS_SHA_384', hash: 'sha384' },
  { alg: 'PS512', keySpec: 'RSA_2048', kmsSigningAlgorithm: 'RSASSA_PSS_SHA_512', hash: 'sha512' },
];

const CLAIMS = { issuer: 'gateway', subject: 'CICSUSR1', audience: 'https://as.example/token' };
const ALIAS = 'alias/gateway-assertions';
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

interface TestKey {
  keyId: string;
  arn: string;
  /** RFC 7638 thumbprint of the public key KMS holds, computed here from GetPublicKey. */
  thumbprint: string;
  /** Base64 and base64url renderings of the public key, which no error message may quote. */
  material: string[];
}

let emulator: AwsEmulator;
let kms: KMSClient;
const keys = new Map<string, TestKey>();
let aliasKey: TestKey;
const clients: KMSClient[] = [];
const unhandled: unknown[] = [];
const onUnhandledRejection = (reason: unknown): void => {
  unhandled.push(reason);
};

/** Creates a KMS key through the emulator and records what the test knows of its public half. */
async function createTestKey(keySpec: string, alias?: string): Promise<TestKey> {
  const { keyId, arn } = await emulator.createKey(keySpec, 'SIGN_VERIFY', alias);
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  const spki = Buffer.from(PublicKey!);
  const jwk = await exportJWK(createPublicKey({ key: spki, format: 'der', type: 'spki' }));
  const material = [spki.toString('base64'), ...[jwk.n, jwk.x, jwk.y].filter((v) => v !== undefined)];
  return { keyId, arn, thumbprint: await calculateJwkThumbprint(jwk, 'sha256'), material };
}

function testKey(keySpec: string): TestKey {
  const key = keys.get(keySpec);
  if (!key) throw new Error(`no test key for ${keySpec}`);
  return key;
}

/** A KMS client on the emulator with extra settings; destroyed after the file. */
function client(config: Partial<KMSClientConfig> = {}): KMSClient {
  const created = new KMSClient({ ...awsClientConfig(emulator), ...config });
  clients.push(created);
  return created;
}

function signer(keyId: string, options: Partial<KmsSignerOptions> = {}, via: KMSClient = kms): KmsSigner {
  return new KmsSigner(via, { id: 'assertions', keyId, ...options });
}

/** The rejection of `promise`, which must be a GatewayError with `code` and quote no key material. */
async function gatewayError(promise: Promise<unknown>, code: GatewayErrorCode): Promise<GatewayError> {
  const error = await rejectsWithGatewayError(promise, code);
  expectNoKeyMaterial(error);
  return error;
}

/** No error text may quote key material (here: any rendering of any test key's public half). */
function expectNoKeyMaterial(error: GatewayError): void {
  const text = `${error.name}: ${error.message}`;
  for (const key of [...keys.values(), aliasKey]) {
    for (const material of key.material) expect(text).not.toContain(material);
  }
}

function digestOfSigningInput(jwt: string, hash: string): string {
  const signingInput = jwt.split('.').slice(0, 2).join('.');
  return createHash(hash).update(signingInput).digest('base64');
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandledRejection);
  emulator = await startAwsEmulator();
  kms = new KMSClient(awsClientConfig(emulator));
  const specs = ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'RSA_2048'];
  const created = await Promise.all(specs.map((keySpec) => createTestKey(keySpec)));
  for (const [index, keySpec] of specs.entries()) keys.set(keySpec, created[index]!);
  aliasKey = await createTestKey('ECC_NIST_P256', ALIAS);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandledRejection);
  kms?.destroy();
  for (const created of clients) created.destroy();
  await emulator?.close();
});

beforeEach(() => {
  emulator.resetCalls();
});

afterEach(async () => {
  emulator.setLatency('Sign', 0);
  emulator.setLatency('GetPublicKey', 0);
  // Rejections are reported as unhandled once the microtask queue drains: let it.
  await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled).toEqual([]);
});

describe('KmsSigner', () => {
  describe('sign', () => {
    for (const { alg, keySpec } of ALGORITHMS) {
      it(`signs an ${alg} assertion on a ${keySpec} key that jose verifies against the JWKS`, async () => {
        // Prepare
        const key = testKey(keySpec);
        const kmsSigner = signer(key.keyId, keySpec === 'RSA_2048' ? { algorithm: alg } : {});
        const keyRing = new SigningKeyRing([{ signer: kmsSigner, retired: false }]);

        // Act
        const { jwt } = await buildAssertion(kmsSigner, CLAIMS);

        // Assess
        const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(await keyRing.jwks()), {
          algorithms: [alg],
          issuer: CLAIMS.issuer,
          audience: CLAIMS.audience,
          subject: CLAIMS.subject,
        });
        expect(protectedHeader).toEqual({ alg, kid: key.thumbprint });
        expect(payload.jti).toEqual(expect.any(String));
      });

      it(`sends KMS the ${alg} digest of the signing input with MessageType DIGEST`, async () => {
        // Prepare
        const { kmsSigningAlgorithm, hash } = ALGORITHMS.find((row) => row.alg === alg)!;
        const key = testKey(keySpec);
        const kmsSigner = signer(key.keyId, keySpec === 'RSA_2048' ? { algorithm: alg } : {});

        // Act
        const { jwt } = await buildAssertion(kmsSigner, CLAIMS);

        // Assess
        const signs = emulator.calls.filter((call) => call.operation === 'Sign');
        expect(signs).toHaveLength(1);
        expect(signs[0]!.input).toEqual({
          KeyId: key.arn, // the ARN GetPublicKey resolved, not the configured reference
          Message: digestOfSigningInput(jwt, hash),
          MessageType: 'DIGEST',
          SigningAlgorithm: kmsSigningAlgorithm,
        });
      });
    }

    it('uses the configured kid instead of the thumbprint', async () => {
      // Prepare
      const kmsSigner = signer(testKey('ECC_NIST_P256').keyId, { kid: 'gateway-2025-01' });
      const keyRing = new SigningKeyRing([{ signer: kmsSigner, retired: false }]);

      // Act
      const { jwt } = await buildAssertion(kmsSigner, CLAIMS);

      // Assess
      const jwks = await keyRing.jwks();
      expect(jwks.keys.map((jwk) => jwk.kid)).toEqual(['gateway-2025-01']);
      const { protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks), { algorithms: ['ES256'] });
      expect(protectedHeader).toEqual({ alg: 'ES256', kid: 'gateway-2025-01' });
    });

    for (const reference of ['alias name', 'alias ARN', 'key ARN'] as const) {
      it(`signs with a key referenced by its ${reference}`, async () => {
        // Prepare
        const keyId =
          reference === 'alias name'
            ? ALIAS
            : reference === 'alias ARN'
              ? `arn:aws:kms:${emulator.region}:000000000000:${ALIAS}`
              : aliasKey.arn;
        const kmsSigner = signer(keyId);
        const keyRing = new SigningKeyRing([{ signer: kmsSigner, retired: false }]);

        // Act
        const { jwt } = await buildAssertion(kmsSigner, CLAIMS);

        // Assess
        const { protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(await keyRing.jwks()));
        expect(protectedHeader.kid).toBe(aliasKey.thumbprint);
        const keyIdsSent = emulator.calls.map((call) => call.input.KeyId);
        // GetPublicKey by the configured reference, then Sign by the key ARN it resolved to.
        expect(keyIdsSent).toEqual([keyId, aliasKey.arn]);
      });
    }

    it('keeps signing with the key it published when the alias moves to another key', async () => {
      // Prepare
      const alias = 'alias/rotating';
      const first = await createTestKey('ECC_NIST_P256', alias);
      const second = await createTestKey('ECC_NIST_P256');
      const kmsSigner = signer(alias);
      const keyRing = new SigningKeyRing([{ signer: kmsSigner, retired: false }]);
      const jwks = createLocalJWKSet(await keyRing.jwks());
      await kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: second.keyId }));

      // Act
      const { jwt } = await buildAssertion(kmsSigner, CLAIMS);

      // Assess: the signature matches the published kid, not whatever the alias points at now.
      const { protectedHeader } = await jwtVerify(jwt, jwks);
      expect(protectedHeader.kid).toBe(first.thumbprint);
    });

    it('calls GetPublicKey once for 50 concurrent first sign and describe calls', async () => {
      // Prepare
      const kmsSigner = signer(testKey('ECC_NIST_P256').keyId);
      const input = new TextEncoder().encode('header.payload');

      // Act
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? kmsSigner.sign(input) : kmsSigner.describe())),
      );

      // Assess
      expect(results).toHaveLength(50);
      expect(emulator.countCalls('GetPublicKey')).toBe(1);
      expect(emulator.countCalls('Sign')).toBe(25);
    });

    it('does not cache a failed GetPublicKey: the next call asks KMS again and succeeds', async () => {
      // Prepare
      const kmsSigner = signer(testKey('ECC_NIST_P256').keyId);
      emulator.failNext('GetPublicKey', 'AccessDeniedException');

      // Act
      const failures = await Promise.allSettled(
        Array.from({ length: 5 }, () => buildAssertion(kmsSigner, CLAIMS)),
      );
      const retried = await buildAssertion(kmsSigner, CLAIMS);

      // Assess
      expect(failures.map((failure) => failure.status)).toEqual(Array(5).fill('rejected'));
      expect(decodeProtectedHeader(retried.jwt).kid).toBe(testKey('ECC_NIST_P256').thumbprint);
      expect(emulator.countCalls('GetPublicKey')).toBe(2);
      expect(emulator.countCalls('Sign')).toBe(1);
    });

    describe('faults', () => {
      it('maps an unknown key id to ERR_SIGNING_KEY_NOT_FOUND', async () => {
        // Prepare
        const kmsSigner = signer('1234abcd-12ab-34cd-56ef-1234567890ab');

        // Act
        const error = await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_KEY_NOT_FOUND');

        // Assess
        expect(error.message).toContain('"assertions"');
        expect(emulator.countCalls('Sign')).toBe(0);
      });

      it('maps an unknown alias to ERR_SIGNING_KEY_NOT_FOUND', async () => {
        // Prepare
        const kmsSigner = signer('alias/no-such-alias');

        // Act + Assess
        await gatewayError(kmsSigner.describe(), 'ERR_SIGNING_KEY_NOT_FOUND');
      });

      it('maps a disabled key to ERR_SIGNING_KEY_UNUSABLE on GetPublicKey', async () => {
        // Prepare
        const { keyId } = await emulator.createKey('ECC_NIST_P256');
        emulator.disableKey(keyId);
        const kmsSigner = signer(keyId);

        // Act
        const error = await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_KEY_UNUSABLE');

        // Assess
        expect(error.message).toContain('GetPublicKey');
        expect(emulator.countCalls('Sign')).toBe(0);
      });

      it('maps a key disabled after it was described to ERR_SIGNING_KEY_UNUSABLE on Sign', async () => {
        // Prepare
        const { keyId } = await emulator.createKey('ECC_NIST_P256');
        const kmsSigner = signer(keyId);
        await kmsSigner.describe();
        emulator.disableKey(keyId);

        // Act
        const error = await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_KEY_UNUSABLE');

        // Assess
        expect(error.message).toContain('Sign');
        expect(emulator.countCalls('Sign')).toBe(1);
      });

      it('maps a key pending deletion to ERR_SIGNING_KEY_UNUSABLE', async () => {
        // Prepare
        const { keyId } = await emulator.createKey('ECC_NIST_P256');
        await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
        const kmsSigner = signer(keyId);

        // Act
        const error = await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_KEY_UNUSABLE');

        // Assess
        expect(error.message).toContain('KMSInvalidStateException');
      });

      it('maps a symmetric ENCRYPT_DECRYPT key to ERR_SIGNING_KEY_UNUSABLE', async () => {
        // Prepare
        const { keyId } = await emulator.createKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
        const kmsSigner = signer(keyId);

        // Act + Assess
        await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_KEY_UNUSABLE');
        expect(emulator.countCalls('Sign')).toBe(0);
      });

      it('maps an RSA ENCRYPT_DECRYPT key to ERR_SIGNING_KEY_UNUSABLE', async () => {
        // Prepare
        const { keyId } = await emulator.createKey('RSA_2048', 'ENCRYPT_DECRYPT');
        const kmsSigner = signer(keyId);

        // Act
        const error = await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_KEY_UNUSABLE');

        // Assess
        expect(error.message).toContain('ENCRYPT_DECRYPT');
        expect(emulator.countCalls('Sign')).toBe(0);
      });

      for (const operation of ['GetPublicKey', 'Sign'] as const) {
        it(`maps AccessDeniedException on ${operation} to ERR_SIGNING_UNAVAILABLE`, async () => {
          // Prepare
          const kmsSigner = signer(testKey('ECC_NIST_P256').keyId);
          emulator.failNext(operation, 'AccessDeniedException');

          // Act
          const error = await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_UNAVAILABLE');

          // Assess
          expect(error.message).toContain('AccessDeniedException');
          expect(emulator.countCalls(operation)).toBe(1); // a 4xx is not retried
        });
      }

      it('rides out one ThrottlingException with the SDK retry', async () => {
        // Prepare
        const kmsSigner = signer(testKey('ECC_NIST_P256').keyId);
        emulator.failNext('Sign', 'ThrottlingException', 1);

        // Act
        const { jwt } = await buildAssertion(kmsSigner, CLAIMS);

        // Assess
        expect(jwt.split('.')).toHaveLength(3);
        expect(emulator.countCalls('Sign')).toBe(2);
      });

      it('maps ThrottlingException beyond the SDK retries to ERR_SIGNING_UNAVAILABLE', async () => {
        // Prepare
        const kmsSigner = signer(testKey('ECC_NIST_P256').keyId);
        await kmsSigner.describe();
        emulator.failNext('Sign', 'ThrottlingException', 3);

        // Act
        const error = await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_UNAVAILABLE');

        // Assess
        expect(error.message).toContain('ThrottlingException');
        expect(emulator.countCalls('Sign')).toBe(3);
      });

      it('maps ThrottlingException on a client without retries to ERR_SIGNING_UNAVAILABLE', async () => {
        // Prepare
        const kmsSigner = signer(testKey('ECC_NIST_P256').keyId, {}, client({ maxAttempts: 1 }));
        emulator.failNext('GetPublicKey', 'ThrottlingException', 1);

        // Act + Assess
        await gatewayError(kmsSigner.describe(), 'ERR_SIGNING_UNAVAILABLE');
        expect(emulator.countCalls('GetPublicKey')).toBe(1);
      });

      it('maps a KMS answer slower than the request timeout to ERR_SIGNING_UNAVAILABLE', async () => {
        // Prepare
        const impatient = client({
          maxAttempts: 1,
          requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
        });
        const kmsSigner = signer(testKey('ECC_NIST_P256').keyId, {}, impatient);
        await kmsSigner.describe();
        emulator.setLatency('Sign', 2_000);

        // Act
        const error = await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_UNAVAILABLE');

        // Assess
        expect(error.message).toContain('Sign');
      });

      it('maps a refused connection to ERR_SIGNING_UNAVAILABLE', async () => {
        // Prepare
        const port = await freePort();
        const unreachable = client({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
        const kmsSigner = signer(testKey('ECC_NIST_P256').keyId, {}, unreachable);

        // Act
        const error = await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_UNAVAILABLE');

        // Assess
        expect(error.message).toContain('GetPublicKey');
      });

      const mismatches: ReadonlyArray<{ keySpec: string; algorithm?: JwsAlgorithm; why: string }> = [
        { keySpec: 'RSA_2048', algorithm: 'ES256', why: 'an RSA key asked for ES256' },
        { keySpec: 'ECC_NIST_P256', algorithm: 'ES384', why: 'a P-256 key asked for ES384' },
        { keySpec: 'ECC_NIST_P384', algorithm: 'RS256', why: 'a P-384 key asked for RS256' },
        { keySpec: 'ECC_NIST_P521', algorithm: 'PS512', why: 'a P-521 key asked for PS512' },
      ];
      for (const { keySpec, algorithm, why } of mismatches) {
        it(`maps ${why} to ERR_SIGNING_KEY_UNSUPPORTED without signing`, async () => {
          // Prepare
          const kmsSigner = signer(testKey(keySpec).keyId, { algorithm });

          // Act
          const error = await gatewayError(buildAssertion(kmsSigner, CLAIMS), 'ERR_SIGNING_KEY_UNSUPPORTED');

          // Assess
          expect(error.message).toContain(keySpec);
          expect(emulator.countCalls('Sign')).toBe(0);
        });
      }

      it('maps a key spec without a JWS algorithm (secp256k1) to ERR_SIGNING_KEY_UNSUPPORTED', async () => {
        // Prepare
        const { keyId } = await emulator.createKey('ECC_SECG_P256K1');
        const kmsSigner = signer(keyId);

        // Act
        const error = await gatewayError(kmsSigner.describe(), 'ERR_SIGNING_KEY_UNSUPPORTED');

        // Assess
        expect(error.message).toContain('ECC_SECG_P256K1');
      });

      it('rejects every concurrent caller with the typed error and leaves no rejection unhandled', async () => {
        // Prepare
        const { keyId } = await emulator.createKey('ECC_NIST_P256');
        emulator.disableKey(keyId);
        const kmsSigner = signer(keyId);
        const keyRing = new SigningKeyRing([{ signer: kmsSigner, retired: false }]);

        // Act
        const outcomes = await Promise.allSettled([
          buildAssertion(kmsSigner, CLAIMS),
          kmsSigner.describe(),
          keyRing.jwks(),
        ]);

        // Assess
        for (const outcome of outcomes) {
          expect(outcome.status).toBe('rejected');
          const reason = (outcome as PromiseRejectedResult).reason as GatewayError;
          expect(reason).toBeInstanceOf(GatewayError);
          expect(reason.code).toBe('ERR_SIGNING_KEY_UNUSABLE');
        }
        expect(emulator.countCalls('GetPublicKey')).toBe(1);
      });
    });
  });

  describe('an AWS-compatible endpoint whose GetPublicKey has no KeySpec', () => {
    /** A KMS client whose GetPublicKey answers lose KeySpec (and the older CustomerMasterKeySpec). */
    function withoutKeySpec(): KMSClient {
      const stripped = client();
      stripped.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          if (context.commandName === 'GetPublicKeyCommand') {
            const output = result.output as { KeySpec?: string; CustomerMasterKeySpec?: string };
            delete output.KeySpec;
            delete output.CustomerMasterKeySpec;
          }
          return result;
        },
        { step: 'initialize', name: 'dropKeySpec' },
      );
      return stripped;
    }

    for (const { keySpec, alg } of [
      { keySpec: 'ECC_NIST_P256', alg: 'ES256' },
      { keySpec: 'ECC_NIST_P384', alg: 'ES384' },
      { keySpec: 'ECC_NIST_P521', alg: 'ES512' },
      { keySpec: 'RSA_2048', alg: 'RS256' },
    ] as const) {
      it(`reads the key type from the ${keySpec} public key itself and signs ${alg}`, async () => {
        // Prepare
        const kmsSigner = signer(testKey(keySpec).keyId, {}, withoutKeySpec());
        const keyRing = new SigningKeyRing([{ signer: kmsSigner, retired: false }]);

        // Act
        const { jwt } = await buildAssertion(kmsSigner, CLAIMS);

        // Assess
        const { protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(await keyRing.jwks()), {
          audience: CLAIMS.audience,
        });
        expect(protectedHeader.alg).toBe(alg);
        expect(protectedHeader.kid).toBe(testKey(keySpec).thumbprint);
      });
    }
  });

  describe('describe', () => {
    for (const keySpec of ['ECC_NIST_P256', 'RSA_2048'] as const) {
      it(`publishes a ${keySpec} public JWK with use sig and no private members`, async () => {
        // Prepare
        const kmsSigner = signer(
          testKey(keySpec).keyId,
          keySpec === 'RSA_2048' ? { algorithm: 'PS256' } : {},
        );
        const keyRing = new SigningKeyRing([{ signer: kmsSigner, retired: false }]);

        // Act
        const { keys: published } = await keyRing.jwks();

        // Assess
        expect(published).toHaveLength(1);
        const jwk = published[0]!;
        expect(jwk).toMatchObject({
          use: 'sig',
          alg: keySpec === 'RSA_2048' ? 'PS256' : 'ES256',
          kid: testKey(keySpec).thumbprint,
          kty: keySpec === 'RSA_2048' ? 'RSA' : 'EC',
        });
        for (const member of PRIVATE_JWK_MEMBERS) expect(jwk).not.toHaveProperty(member);
      });
    }
  });
});
