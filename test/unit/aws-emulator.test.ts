import { constants, createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { compactVerify, importSPKI } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEmulator, awsClientConfig, startAwsEmulator } from '../support/aws-emulator.ts';

/** One row per signing algorithm: the key spec to sign with and how node verifies the result. */
const ALGORITHMS: ReadonlyArray<{
  algorithm: SigningAlgorithmSpec;
  keySpec: string;
  hash: 'sha256' | 'sha384' | 'sha512';
  padding?: number;
}> = [
  { algorithm: 'ECDSA_SHA_256', keySpec: 'ECC_NIST_P256', hash: 'sha256' },
  { algorithm: 'ECDSA_SHA_384', keySpec: 'ECC_NIST_P384', hash: 'sha384' },
  { algorithm: 'ECDSA_SHA_512', keySpec: 'ECC_NIST_P521', hash: 'sha512' },
  {
    algorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
    keySpec: 'RSA_2048',
    hash: 'sha256',
    padding: constants.RSA_PKCS1_PADDING,
  },
  {
    algorithm: 'RSASSA_PKCS1_V1_5_SHA_384',
    keySpec: 'RSA_2048',
    hash: 'sha384',
    padding: constants.RSA_PKCS1_PADDING,
  },
  {
    algorithm: 'RSASSA_PKCS1_V1_5_SHA_512',
    keySpec: 'RSA_2048',
    hash: 'sha512',
    padding: constants.RSA_PKCS1_PADDING,
  },
  {
    algorithm: 'RSASSA_PSS_SHA_256',
    keySpec: 'RSA_2048',
    hash: 'sha256',
    padding: constants.RSA_PKCS1_PSS_PADDING,
  },
  {
    algorithm: 'RSASSA_PSS_SHA_384',
    keySpec: 'RSA_2048',
    hash: 'sha384',
    padding: constants.RSA_PKCS1_PSS_PADDING,
  },
  {
    algorithm: 'RSASSA_PSS_SHA_512',
    keySpec: 'RSA_2048',
    hash: 'sha512',
    padding: constants.RSA_PKCS1_PSS_PADDING,
  },
];

const MESSAGE = Buffer.from('{"iss":"client","sub":"alice","aud":"https://idp.example/token"}');

let emu: AwsEmulator;
let kms: KMSClient;
/** No retries, so an injected or real error surfaces on the first attempt. */
let kmsNoRetry: KMSClient;
let secrets: SecretsManagerClient;
const signingKeys = new Map<string, { keyId: string; arn: string; publicKey: KeyObject }>();

beforeAll(async () => {
  emu = await startAwsEmulator();
  kms = new KMSClient(awsClientConfig(emu));
  kmsNoRetry = new KMSClient({ ...awsClientConfig(emu), maxAttempts: 1 });
  secrets = new SecretsManagerClient({ ...awsClientConfig(emu), maxAttempts: 1 });
  for (const keySpec of new Set(ALGORITHMS.map((row) => row.keySpec))) {
    const key = await emu.createKey(keySpec);
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: key.keyId }));
    signingKeys.set(keySpec, {
      ...key,
      publicKey: createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }),
    });
  }
});

afterAll(async () => {
  kms.destroy();
  kmsNoRetry.destroy();
  secrets.destroy();
  await emu.close();
});

function signingKey(keySpec: string): { keyId: string; arn: string; publicKey: KeyObject } {
  const key = signingKeys.get(keySpec);
  if (!key) throw new Error(`no signing key for ${keySpec}`);
  return key;
}

/** Verifies like a relying party would: over the original message, ECDSA signatures DER-encoded. */
function verifiesOverMessage(row: (typeof ALGORITHMS)[number], signature: Uint8Array): boolean {
  const { publicKey } = signingKey(row.keySpec);
  const key =
    row.padding === undefined
      ? { key: publicKey, dsaEncoding: 'der' as const }
      : { key: publicKey, padding: row.padding, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
  return verify(row.hash, MESSAGE, key, signature);
}

/**
 * Total length a DER SEQUENCE header announces: tag, length (short form, or 0x81 + one byte for
 * P-521 signatures longer than 127 bytes) and body.
 */
function derSequenceLength(der: Buffer): number {
  const lengthByte = der[1]!;
  return lengthByte === 0x81 ? 3 + der[2]! : 2 + lengthByte;
}

/** What the SDK throws for an AWS error: the fields these tests assert on. */
interface SdkServiceError {
  name: string;
  message: string;
  $metadata: { httpStatusCode?: number; attempts?: number };
}

/** The rejection of `promise`, so its name, message and metadata can be asserted. */
async function rejectionOf(promise: Promise<unknown>): Promise<SdkServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as SdkServiceError;
  }
  throw new Error('expected the promise to reject');
}

describe('AwsEmulator', () => {
  beforeEach(() => {
    emu.resetCalls();
  });

  describe('Sign', () => {
    it.each(ALGORITHMS)(
      'signs a DIGEST message with $algorithm so that it verifies over the original message',
      async (row) => {
        // Prepare
        const digest = createHash(row.hash).update(MESSAGE).digest();

        // Act
        const { Signature, SigningAlgorithm, KeyId } = await kms.send(
          new SignCommand({
            KeyId: signingKey(row.keySpec).keyId,
            Message: digest,
            MessageType: 'DIGEST',
            SigningAlgorithm: row.algorithm,
          }),
        );

        // Assess
        expect(SigningAlgorithm).toBe(row.algorithm);
        expect(KeyId).toBe(signingKey(row.keySpec).arn);
        expect(verifiesOverMessage(row, Signature!)).toBe(true);
      },
    );

    it.each(ALGORITHMS)(
      'signs a RAW message with $algorithm so that it verifies over the message',
      async (row) => {
        // Prepare
        const keyId = signingKey(row.keySpec).keyId;

        // Act
        const { Signature } = await kms.send(
          new SignCommand({
            KeyId: keyId,
            Message: MESSAGE,
            MessageType: 'RAW',
            SigningAlgorithm: row.algorithm,
          }),
        );

        // Assess
        expect(verifiesOverMessage(row, Signature!)).toBe(true);
      },
    );

    it('treats a missing MessageType as RAW', async () => {
      // Prepare
      const row = ALGORITHMS[0]!;

      // Act
      const { Signature } = await kms.send(
        new SignCommand({
          KeyId: signingKey(row.keySpec).keyId,
          Message: MESSAGE,
          SigningAlgorithm: row.algorithm,
        }),
      );

      // Assess
      expect(verifiesOverMessage(row, Signature!)).toBe(true);
    });

    it.each(['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'])(
      'returns DER-encoded ECDSA signatures for %s, not IEEE P1363',
      async (keySpec) => {
        // Prepare
        const row = ALGORITHMS.find((r) => r.keySpec === keySpec)!;
        const digest = createHash(row.hash).update(MESSAGE).digest();

        // Act
        const signatures = await Promise.all(
          ['DIGEST', 'RAW'].map(async (messageType) => {
            const { Signature } = await kms.send(
              new SignCommand({
                KeyId: signingKey(keySpec).keyId,
                Message: messageType === 'DIGEST' ? digest : MESSAGE,
                MessageType: messageType as 'DIGEST' | 'RAW',
                SigningAlgorithm: row.algorithm,
              }),
            );
            return Buffer.from(Signature!);
          }),
        );

        // Assess
        for (const signature of signatures) {
          expect(signature[0]).toBe(0x30);
          expect(derSequenceLength(signature)).toBe(signature.length);
          const { publicKey } = signingKey(keySpec);
          expect(verify(row.hash, MESSAGE, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(
            false,
          );
        }
      },
    );

    it('signs an ECDSA_SHA_256 DIGEST with a secp256k1 key (ECC_SECG_P256K1)', async () => {
      // Prepare
      const { keyId } = await emu.createKey('ECC_SECG_P256K1');
      const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
      const digest = createHash('sha256').update(MESSAGE).digest();

      // Act
      const { Signature } = await kms.send(
        new SignCommand({
          KeyId: keyId,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );

      // Assess
      const publicKey = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
      expect(verify('sha256', MESSAGE, { key: publicKey, dsaEncoding: 'der' }, Signature!)).toBe(true);
    });

    it.each(['RSA_3072', 'RSA_4096'])('signs a RSASSA_PSS_SHA_512 DIGEST with a %s key', async (keySpec) => {
      // Prepare
      const { keyId } = await emu.createKey(keySpec);
      const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
      const digest = createHash('sha512').update(MESSAGE).digest();

      // Act
      const { Signature } = await kms.send(
        new SignCommand({
          KeyId: keyId,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: 'RSASSA_PSS_SHA_512',
        }),
      );

      // Assess
      const publicKey = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
      const options = { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 };
      expect(verify('sha512', MESSAGE, options, Signature!)).toBe(true);
    });

    it('produces a JWS signature that jose verifies with the public key from GetPublicKey', async () => {
      // Prepare
      const { keyId, publicKey } = signingKey('RSA_2048');
      const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
      const signingInput = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ sub: 'alice' })}`;
      const digest = createHash('sha256').update(signingInput).digest();

      // Act
      const { Signature } = await kms.send(
        new SignCommand({
          KeyId: keyId,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
        }),
      );

      // Assess
      const jws = `${signingInput}.${Buffer.from(Signature!).toString('base64url')}`;
      const spkiPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const { payload } = await compactVerify(jws, await importSPKI(spkiPem, 'RS256'));
      expect(JSON.parse(Buffer.from(payload).toString())).toEqual({ sub: 'alice' });
    });

    it.each(ALGORITHMS)(
      'rejects a DIGEST of the wrong length for $algorithm with ValidationException',
      async (row) => {
        // Prepare
        const wrongLength = createHash(row.hash === 'sha256' ? 'sha384' : 'sha256')
          .update(MESSAGE)
          .digest();

        // Act
        const err = await rejectionOf(
          kmsNoRetry.send(
            new SignCommand({
              KeyId: signingKey(row.keySpec).keyId,
              Message: wrongLength,
              MessageType: 'DIGEST',
              SigningAlgorithm: row.algorithm,
            }),
          ),
        );

        // Assess
        expect(err.name).toBe('ValidationException');
        expect(err.message).toBe(`Digest is invalid length for algorithm ${row.algorithm}.`);
        expect(err.$metadata.httpStatusCode).toBe(400);
      },
    );

    it('rejects a RAW message longer than 4096 bytes with ValidationException', async () => {
      // Prepare
      const message = Buffer.alloc(4097, 1);

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(
          new SignCommand({
            KeyId: signingKey('ECC_NIST_P256').keyId,
            Message: message,
            SigningAlgorithm: 'ECDSA_SHA_256',
          }),
        ),
      );

      // Assess
      expect(err.name).toBe('ValidationException');
      expect(err.message).toContain("at 'message' failed to satisfy constraint");
    });

    it('rejects a signing algorithm that the key spec does not support with InvalidKeyUsageException', async () => {
      // Prepare
      const keyId = signingKey('ECC_NIST_P256').keyId;

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(
          new SignCommand({ KeyId: keyId, Message: MESSAGE, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }),
        ),
      );

      // Assess
      expect(err.name).toBe('InvalidKeyUsageException');
      expect(err.$metadata.httpStatusCode).toBe(400);
    });

    it('rejects an ECDSA hash that does not match the curve with InvalidKeyUsageException', async () => {
      // Prepare
      const keyId = signingKey('ECC_NIST_P256').keyId;

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(
          new SignCommand({ KeyId: keyId, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_384' }),
        ),
      );

      // Assess
      expect(err.name).toBe('InvalidKeyUsageException');
    });

    it('rejects a signing algorithm outside the enum with ValidationException', async () => {
      // Prepare
      const keyId = signingKey('ECC_NIST_P256').keyId;

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(
          new SignCommand({
            KeyId: keyId,
            Message: MESSAGE,
            SigningAlgorithm: 'ES256' as SigningAlgorithmSpec,
          }),
        ),
      );

      // Assess
      expect(err.name).toBe('ValidationException');
      expect(err.message).toContain("Value 'ES256' at 'signingAlgorithm' failed to satisfy constraint");
    });

    it('rejects a key whose usage is ENCRYPT_DECRYPT with InvalidKeyUsageException', async () => {
      // Prepare
      const { keyId } = await emu.createKey('SYMMETRIC_DEFAULT');

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(
          new SignCommand({ KeyId: keyId, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' }),
        ),
      );

      // Assess
      expect(err.name).toBe('InvalidKeyUsageException');
    });

    it('rejects a disabled key with DisabledException, and signs again once it is enabled', async () => {
      // Prepare
      const { keyId, arn } = await emu.createKey('ECC_NIST_P256');
      emu.disableKey(keyId);
      const sign = () =>
        kmsNoRetry.send(
          new SignCommand({ KeyId: keyId, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' }),
        );

      // Act
      const err = await rejectionOf(sign());
      await kms.send(new EnableKeyCommand({ KeyId: keyId }));
      const { Signature } = await sign();

      // Assess
      expect(err.name).toBe('DisabledException');
      expect(err.message).toBe(`${arn} is disabled.`);
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(Signature).toBeDefined();
    });

    it('rejects a key pending deletion with KMSInvalidStateException', async () => {
      // Prepare
      const { keyId } = await emu.createKey('ECC_NIST_P256');
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(
          new SignCommand({ KeyId: keyId, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' }),
        ),
      );

      // Assess
      expect(err.name).toBe('KMSInvalidStateException');
      expect(err.$metadata.httpStatusCode).toBe(400);
    });

    it('rejects an unknown key with NotFoundException', async () => {
      // Prepare
      const keyId = '11111111-2222-3333-4444-555555555555';

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(
          new SignCommand({ KeyId: keyId, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' }),
        ),
      );

      // Assess
      expect(err.name).toBe('NotFoundException');
      expect(err.message).toBe(`Key 'arn:aws:kms:us-east-1:000000000000:key/${keyId}' does not exist`);
      expect(err.$metadata.httpStatusCode).toBe(400);
    });

    it.each([
      ['key id', (key: { keyId: string; arn: string; alias: string }) => key.keyId],
      ['key ARN', (key: { keyId: string; arn: string; alias: string }) => key.arn],
      ['alias name', (key: { keyId: string; arn: string; alias: string }) => key.alias],
      ['alias ARN', (key: { alias: string }) => `arn:aws:kms:us-east-1:000000000000:${key.alias}`],
    ])('finds the key by its %s', async (form, keyRef) => {
      // Prepare
      const alias = `alias/lookup-by-${form.replace(' ', '-')}`;
      const key = { ...(await emu.createKey('ECC_NIST_P256', 'SIGN_VERIFY', alias)), alias };
      const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: key.keyId }));

      // Act
      const { KeyId, Signature } = await kms.send(
        new SignCommand({ KeyId: keyRef(key), Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' }),
      );

      // Assess
      const publicKey = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
      expect(KeyId).toBe(key.arn);
      expect(verify('sha256', MESSAGE, { key: publicKey, dsaEncoding: 'der' }, Signature!)).toBe(true);
    });

    it('creates an alias with CreateAlias that Sign then accepts', async () => {
      // Prepare
      const { arn } = await emu.createKey('ECC_NIST_P256');

      // Act
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/created-by-sdk', TargetKeyId: arn }));
      const output = await kms.send(
        new SignCommand({
          KeyId: 'alias/created-by-sdk',
          Message: MESSAGE,
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );

      // Assess
      expect(output.KeyId).toBe(arn);
    });

    it('rejects an unknown alias with NotFoundException', async () => {
      // Prepare
      const alias = 'alias/does-not-exist';

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(
          new SignCommand({ KeyId: alias, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' }),
        ),
      );

      // Assess
      expect(err.name).toBe('NotFoundException');
      expect(err.message).toBe('Alias arn:aws:kms:us-east-1:000000000000:alias/does-not-exist is not found.');
    });
  });

  describe('GetPublicKey', () => {
    it.each(['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'RSA_2048'])(
      'returns SPKI DER that node accepts for a %s key',
      async (keySpec) => {
        // Prepare
        const { keyId, arn } = signingKey(keySpec);

        // Act
        const output = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));

        // Assess
        const publicKey = createPublicKey({
          key: Buffer.from(output.PublicKey!),
          format: 'der',
          type: 'spki',
        });
        expect(publicKey.asymmetricKeyType).toBe(keySpec.startsWith('RSA') ? 'rsa' : 'ec');
        expect(output).toMatchObject({ KeyId: arn, KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' });
        expect(output.SigningAlgorithms).toEqual(
          ALGORITHMS.filter((row) => row.keySpec === keySpec).map((row) => row.algorithm),
        );
      },
    );

    it('rejects a disabled key with DisabledException', async () => {
      // Prepare
      const { keyId } = await emu.createKey('ECC_NIST_P256');
      emu.disableKey(keyId);

      // Act
      const err = await rejectionOf(kmsNoRetry.send(new GetPublicKeyCommand({ KeyId: keyId })));

      // Assess
      expect(err.name).toBe('DisabledException');
    });
  });

  describe('CreateKey', () => {
    it('returns the KeyMetadata AWS returns for an ECC_NIST_P256 signing key', async () => {
      // Prepare
      const input = { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' } as const;

      // Act
      const { KeyMetadata } = await kms.send(new CreateKeyCommand(input));

      // Assess
      expect(KeyMetadata?.KeyId).toMatch(/^[0-9a-f-]{36}$/);
      expect(KeyMetadata).toMatchObject({
        Arn: `arn:aws:kms:us-east-1:000000000000:key/${KeyMetadata?.KeyId}`,
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        Enabled: true,
        KeyState: 'Enabled',
        SigningAlgorithms: ['ECDSA_SHA_256'],
      });
      expect(KeyMetadata?.CreationDate).toBeInstanceOf(Date);
    });

    it('defaults to a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key', async () => {
      // Prepare
      const input = {};

      // Act
      const { KeyMetadata } = await kms.send(new CreateKeyCommand(input));

      // Assess
      expect(KeyMetadata).toMatchObject({
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      });
      expect(KeyMetadata?.SigningAlgorithms).toBeUndefined();
    });

    it('creates a multi-Region primary key with an mrk- id when asked (MultiRegion: true)', async () => {
      // Act
      const { KeyMetadata } = await kms.send(
        new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', MultiRegion: true }),
      );
      const described = await kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.Arn }));

      // Assess
      expect(KeyMetadata?.KeyId).toMatch(/^mrk-[0-9a-f]{32}$/);
      expect(KeyMetadata).toMatchObject({
        MultiRegion: true,
        MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY' },
      });
      expect(described.KeyMetadata?.KeyId).toBe(KeyMetadata?.KeyId);
      const single = await kms.send(
        new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
      );
      expect(single.KeyMetadata?.MultiRegion).toBe(false);
    });

    it('rejects a key usage the key spec does not support with ValidationException', async () => {
      // Prepare
      const input = { KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' } as const;

      // Act
      const err = await rejectionOf(kmsNoRetry.send(new CreateKeyCommand(input)));

      // Assess
      expect(err.name).toBe('ValidationException');
    });
  });

  describe('DescribeKey', () => {
    it('reports Disabled and PendingDeletion key states', async () => {
      // Prepare
      const { keyId } = await emu.createKey('RSA_2048');

      // Act
      await kms.send(new DisableKeyCommand({ KeyId: keyId }));
      const disabled = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
      const scheduled = await kms.send(
        new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }),
      );
      const pending = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));

      // Assess
      expect(disabled.KeyMetadata).toMatchObject({ Enabled: false, KeyState: 'Disabled' });
      expect(scheduled).toMatchObject({ KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
      expect(pending.KeyMetadata).toMatchObject({ Enabled: false, KeyState: 'PendingDeletion' });
      expect(pending.KeyMetadata?.DeletionDate?.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    });
  });

  describe('CreateAlias', () => {
    it('rejects an alias that already exists with AlreadyExistsException', async () => {
      // Prepare
      const { keyId } = await emu.createKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'alias/taken');

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: keyId })),
      );

      // Assess
      expect(err.name).toBe('AlreadyExistsException');
    });
  });

  describe('GenerateDataKey and Decrypt', () => {
    it('round-trips a data key without a KeyId on Decrypt', async () => {
      // Prepare
      const { arn } = await emu.createKey('SYMMETRIC_DEFAULT', undefined, 'alias/data-keys');
      const context = { purpose: 'assertion', tenant: 'acme' };

      // Act
      const dataKey = await kms.send(
        new GenerateDataKeyCommand({
          KeyId: 'alias/data-keys',
          KeySpec: 'AES_256',
          EncryptionContext: context,
        }),
      );
      const decrypted = await kms.send(
        new DecryptCommand({
          CiphertextBlob: dataKey.CiphertextBlob,
          EncryptionContext: { tenant: 'acme', purpose: 'assertion' },
        }),
      );

      // Assess
      expect(dataKey.Plaintext).toHaveLength(32);
      expect(dataKey.KeyId).toBe(arn);
      expect(decrypted.KeyId).toBe(arn);
      expect(Buffer.from(decrypted.Plaintext!).equals(Buffer.from(dataKey.Plaintext!))).toBe(true);
    });

    it('generates NumberOfBytes of key material', async () => {
      // Prepare
      const { keyId } = await emu.createKey('SYMMETRIC_DEFAULT');

      // Act
      const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 64 }));

      // Assess
      expect(dataKey.Plaintext).toHaveLength(64);
    });

    it('rejects a wrong encryption context with InvalidCiphertextException', async () => {
      // Prepare
      const { keyId } = await emu.createKey('SYMMETRIC_DEFAULT');
      const dataKey = await kms.send(
        new GenerateDataKeyCommand({
          KeyId: keyId,
          KeySpec: 'AES_256',
          EncryptionContext: { tenant: 'acme' },
        }),
      );

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(
          new DecryptCommand({
            CiphertextBlob: dataKey.CiphertextBlob,
            EncryptionContext: { tenant: 'evil' },
          }),
        ),
      );

      // Assess
      expect(err.name).toBe('InvalidCiphertextException');
      expect(err.$metadata.httpStatusCode).toBe(400);
    });

    it('rejects a KeyId on Decrypt that did not encrypt the blob with IncorrectKeyException', async () => {
      // Prepare
      const first = await emu.createKey('SYMMETRIC_DEFAULT');
      const second = await emu.createKey('SYMMETRIC_DEFAULT');
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({ KeyId: first.keyId, Plaintext: MESSAGE }),
      );

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(new DecryptCommand({ CiphertextBlob, KeyId: second.keyId })),
      );

      // Assess
      expect(err.name).toBe('IncorrectKeyException');
    });

    it('round-trips Encrypt and Decrypt and rejects a tampered blob', async () => {
      // Prepare
      const { keyId } = await emu.createKey('SYMMETRIC_DEFAULT');

      // Act
      const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: MESSAGE }));
      const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob, KeyId: keyId }));
      const tampered = Buffer.from(CiphertextBlob!);
      tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff;
      const err = await rejectionOf(kmsNoRetry.send(new DecryptCommand({ CiphertextBlob: tampered })));

      // Assess
      expect(Buffer.from(Plaintext!).equals(MESSAGE)).toBe(true);
      expect(err.name).toBe('InvalidCiphertextException');
    });

    it('rejects GenerateDataKey on a signing key with InvalidKeyUsageException', async () => {
      // Prepare
      const { keyId } = signingKey('ECC_NIST_P256');

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })),
      );

      // Assess
      expect(err.name).toBe('InvalidKeyUsageException');
    });
  });

  describe('SecretsManager', () => {
    it('gets a secret by name and by ARN', async () => {
      // Prepare
      const { arn } = emu.putSecret('gateway/client-secret', 's3cr3t');

      // Act
      const byName = await secrets.send(new GetSecretValueCommand({ SecretId: 'gateway/client-secret' }));
      const byArn = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));

      // Assess
      expect(arn).toMatch(
        /^arn:aws:secretsmanager:us-east-1:000000000000:secret:gateway\/client-secret-[A-Za-z0-9]{6}$/,
      );
      for (const output of [byName, byArn]) {
        expect(output).toMatchObject({
          ARN: arn,
          Name: 'gateway/client-secret',
          SecretString: 's3cr3t',
          VersionStages: ['AWSCURRENT'],
        });
        expect(output.CreatedDate).toBeInstanceOf(Date);
        expect(output.VersionId).toBeDefined();
      }
    });

    it('creates a secret and returns the newest value after PutSecretValue', async () => {
      // Prepare
      const created = await secrets.send(new CreateSecretCommand({ Name: 'rotating', SecretString: 'v1' }));

      // Act
      const put = await secrets.send(new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'v2' }));
      const current = await secrets.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
      const previous = await secrets.send(
        new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }),
      );

      // Assess
      expect(current).toMatchObject({
        SecretString: 'v2',
        VersionId: put.VersionId,
        VersionStages: ['AWSCURRENT'],
      });
      expect(previous).toMatchObject({ SecretString: 'v1', VersionId: created.VersionId });
    });

    it('rejects a missing secret with ResourceNotFoundException', async () => {
      // Prepare
      const secretId = 'no/such/secret';

      // Act
      const err = await rejectionOf(secrets.send(new GetSecretValueCommand({ SecretId: secretId })));

      // Assess
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.message).toBe("Secrets Manager can't find the specified secret.");
      expect(err.$metadata.httpStatusCode).toBe(400);
    });

    it('rejects a secret marked for deletion with InvalidRequestException and forgets a force-deleted one', async () => {
      // Prepare
      emu.putSecret('scheduled', 'x');
      emu.putSecret('forced', 'y');

      // Act
      await secrets.send(new DeleteSecretCommand({ SecretId: 'scheduled', RecoveryWindowInDays: 7 }));
      await secrets.send(new DeleteSecretCommand({ SecretId: 'forced', ForceDeleteWithoutRecovery: true }));
      const scheduled = await rejectionOf(secrets.send(new GetSecretValueCommand({ SecretId: 'scheduled' })));
      const forced = await rejectionOf(secrets.send(new GetSecretValueCommand({ SecretId: 'forced' })));

      // Assess
      expect(scheduled.name).toBe('InvalidRequestException');
      expect(scheduled.message).toBe(
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
      expect(forced.name).toBe('ResourceNotFoundException');
    });
  });

  describe('Protocol', () => {
    it('answers a request without Authorization with MissingAuthenticationTokenException', async () => {
      // Prepare
      const request = {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' },
        body: JSON.stringify({ KeyId: signingKey('ECC_NIST_P256').keyId }),
      };

      // Act
      const response = await fetch(emu.endpoint, request);

      // Assess
      expect(response.status).toBe(400);
      expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
      expect(await response.json()).toEqual({
        __type: 'MissingAuthenticationTokenException',
        message: 'Request is missing Authentication Token',
      });
    });

    it.each(['TrentService.LaunchRocket', 'TrentService.toString', 'Route53.ListHostedZones'])(
      'answers the unknown target %s with UnknownOperationException',
      async (target) => {
        // Prepare
        const request = {
          method: 'POST',
          headers: {
            authorization: 'AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/kms/aws4_request',
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': target,
          },
          body: '{}',
        };

        // Act
        const response = await fetch(emu.endpoint, request);

        // Assess
        expect(response.status).toBe(400);
        expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
        expect(await response.json()).toEqual({ __type: 'UnknownOperationException' });
      },
    );

    it('sends blobs base64-encoded in the JSON body', async () => {
      // Prepare
      const digest = createHash('sha256').update(MESSAGE).digest();

      // Act
      await kms.send(
        new SignCommand({
          KeyId: signingKey('ECC_NIST_P256').keyId,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );

      // Assess
      expect(emu.calls).toEqual([
        {
          service: 'kms',
          operation: 'Sign',
          input: {
            KeyId: signingKey('ECC_NIST_P256').keyId,
            Message: digest.toString('base64'),
            MessageType: 'DIGEST',
            SigningAlgorithm: 'ECDSA_SHA_256',
          },
        },
      ]);
    });
  });

  describe('Test controls', () => {
    it.each([
      ['ThrottlingException', 400],
      ['AccessDeniedException', 400],
      ['KMSInternalException', 500],
      ['InternalFailure', 500],
      ['NotFoundException', 400],
    ])('surfaces an injected %s as err.name with HTTP %i', async (errorName, status) => {
      // Prepare
      emu.failNext('DescribeKey', errorName);

      // Act
      const err = await rejectionOf(
        kmsNoRetry.send(new DescribeKeyCommand({ KeyId: signingKey('RSA_2048').keyId })),
      );

      // Assess
      expect(err.name).toBe(errorName);
      expect(err.$metadata.httpStatusCode).toBe(status);
      expect(emu.countCalls('DescribeKey')).toBe(1);
    });

    it('lets the SDK retry one injected ThrottlingException, visible only in countCalls', async () => {
      // Prepare
      emu.failNext('Sign', 'ThrottlingException', 1);

      // Act
      const output = await kms.send(
        new SignCommand({
          KeyId: signingKey('ECC_NIST_P256').keyId,
          Message: MESSAGE,
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );

      // Assess
      expect(output.Signature).toBeDefined();
      expect(output.$metadata.attempts).toBe(2);
      expect(emu.countCalls('Sign')).toBe(2);
    });

    it('fails after the SDK exhausts its three attempts', async () => {
      // Prepare
      emu.failNext('GetSecretValue', 'InternalServiceError', 3);
      const retrying = new SecretsManagerClient(awsClientConfig(emu));
      emu.putSecret('retried', 'value');

      // Act
      const err = await rejectionOf(retrying.send(new GetSecretValueCommand({ SecretId: 'retried' })));
      const after = await retrying.send(new GetSecretValueCommand({ SecretId: 'retried' }));
      retrying.destroy();

      // Assess
      expect(err.name).toBe('InternalServiceError');
      expect(err.$metadata).toMatchObject({ httpStatusCode: 500, attempts: 3 });
      expect(after.SecretString).toBe('value');
      expect(emu.countCalls('GetSecretValue')).toBe(4);
    });

    it('delays responses so that a client request timeout fires', async () => {
      // Prepare
      emu.setLatency('DescribeKey', 1_000);
      const impatient = new KMSClient({
        ...awsClientConfig(emu),
        maxAttempts: 1,
        // In this SDK version requestTimeout only logs a warning unless throwOnRequestTimeout is set.
        requestHandler: { requestTimeout: 100, throwOnRequestTimeout: true },
      });

      // Act
      const err = await rejectionOf(
        impatient.send(new DescribeKeyCommand({ KeyId: signingKey('RSA_2048').keyId })),
      );
      emu.setLatency('DescribeKey', 0);
      const after = await impatient.send(new DescribeKeyCommand({ KeyId: signingKey('RSA_2048').keyId }));
      impatient.destroy();

      // Assess
      expect(err.name).toBe('TimeoutError');
      expect(after.KeyMetadata?.KeyState).toBe('Enabled');
    });

    it('records every call with its service, operation and input, and resets them', async () => {
      // Prepare
      emu.putSecret('recorded', 'value');

      // Act
      await secrets.send(new GetSecretValueCommand({ SecretId: 'recorded' }));
      await kms.send(new DescribeKeyCommand({ KeyId: 'alias/unknown' })).catch(() => {});
      const recorded = [...emu.calls];
      emu.resetCalls();

      // Assess
      expect(recorded).toEqual([
        { service: 'secretsmanager', operation: 'GetSecretValue', input: { SecretId: 'recorded' } },
        { service: 'kms', operation: 'DescribeKey', input: { KeyId: 'alias/unknown' } },
      ]);
      expect(emu.calls).toEqual([]);
      expect(emu.countCalls('GetSecretValue')).toBe(0);
    });
  });
});
