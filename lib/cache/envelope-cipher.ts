import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  type DecryptCommandOutput,
  GenerateDataKeyCommand,
  type GenerateDataKeyCommandOutput,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { awsFailureKind } from '../aws/aws-errors.ts';
import { type AwsCallLimits, awsCallOptions, CACHE_KMS_CALL_LIMITS } from '../aws/call-limits.ts';
import { GatewayError } from '../errors.ts';
import { KeyedOnce, onceUntilFailure } from '../once.ts';

/** Where data keys come from: KMS `GenerateDataKey`/`Decrypt`, or a local key for laptops and tests. */
export interface DataKeyProvider {
  /** A new 256-bit data key, in clear and wrapped (the wrapped form is stored beside the ciphertext). */
  generate(): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }>;
  unwrap(wrapped: Uint8Array): Promise<Uint8Array>;
}

/** Binds wrapped keys to this use, so a data key of another application cannot be replayed here. */
const ENCRYPTION_CONTEXT = { purpose: 'jwt-bearer-gateway/token-cache' };

/** @see https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html */
export class KmsDataKeyProvider implements DataKeyProvider {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
    private readonly callLimits: AwsCallLimits = CACHE_KMS_CALL_LIMITS,
  ) {}

  /** Any failure is ERR_CACHE_UNAVAILABLE (ERR_AWS_UNCONFIGURED without region or credentials). */
  async generate(): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }> {
    let output: GenerateDataKeyCommandOutput;
    try {
      output = await this.kms.send(
        new GenerateDataKeyCommand({
          KeyId: this.keyId,
          KeySpec: 'AES_256',
          EncryptionContext: ENCRYPTION_CONTEXT,
        }),
        awsCallOptions(this.callLimits),
      );
    } catch (cause) {
      throw cacheKeyError(cause, 'KMS could not generate a cache data key');
    }
    if (!output.Plaintext || !output.CiphertextBlob) {
      throw new GatewayError('ERR_CACHE_UNAVAILABLE', 'KMS GenerateDataKey returned no key');
    }
    return { plaintext: output.Plaintext, wrapped: output.CiphertextBlob };
  }

  /**
   * Throws ERR_CACHE_UNAVAILABLE only when KMS is unavailable (the shared AWS policy's `transient`), which
   * the cache reports as degraded. A refusal (a key sealed under another or a deleted CMK, a tampered
   * blob, access denied) is a plain Error: that entry can never be read, so it is a miss.
   */
  async unwrap(wrapped: Uint8Array): Promise<Uint8Array> {
    let output: DecryptCommandOutput;
    try {
      output = await this.kms.send(
        new DecryptCommand({
          CiphertextBlob: wrapped,
          KeyId: this.keyId,
          EncryptionContext: ENCRYPTION_CONTEXT,
        }),
        awsCallOptions(this.callLimits),
      );
    } catch (cause) {
      if (awsFailureKind(cause) !== 'refused')
        throw cacheKeyError(cause, 'KMS could not unwrap a cache data key');
      throw new Error('the cache data key cannot be unwrapped', { cause });
    }
    if (!output.Plaintext) throw new GatewayError('ERR_CACHE_UNAVAILABLE', 'KMS Decrypt returned no key');
    return output.Plaintext;
  }
}

/**
 * Wraps data keys with AES-256-GCM under a local 256-bit key: the same envelope, without KMS. The key is
 * loaded on first use (a file of 32 random bytes in base64, for instance).
 */
export class LocalDataKeyProvider implements DataKeyProvider {
  constructor(private readonly load: () => Promise<Uint8Array>) {}

  async generate(): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }> {
    const plaintext = randomBytes(32);
    return { plaintext, wrapped: seal(await this.key(), plaintext, Buffer.from(ENCRYPTION_CONTEXT.purpose)) };
  }

  async unwrap(wrapped: Uint8Array): Promise<Uint8Array> {
    return open(await this.key(), wrapped, Buffer.from(ENCRYPTION_CONTEXT.purpose));
  }

  /** Loaded on first use; a failed load (a file not there yet) is tried again next time. */
  private readonly key = onceUntilFailure(async () => {
    const key = await this.load();
    if (key.length !== 32)
      throw new GatewayError('ERR_CONFIG_INVALID', 'the local cache key must be 32 bytes');
    return key;
  });
}

export interface EnvelopeCipherOptions {
  /** A data key encrypts for this long, then a new one is generated. */
  readonly rotateAfterMs: number;
  /** How many unwrapped keys are kept for decryption. */
  readonly maxCachedKeys: number;
  readonly now?: () => number;
}

export interface Sealed {
  /** IV (12 bytes) || ciphertext || GCM tag (16 bytes). */
  readonly ciphertext: Uint8Array;
  readonly wrappedKey: Uint8Array;
}

/**
 * Envelope encryption with AES-256-GCM. One data key encrypts many items until it rotates; unwrapped keys
 * are cached, so a warm container decrypts without calling KMS. The additional authenticated data binds
 * each ciphertext to its cache key: an item copied under another key fails to decrypt.
 */
export class EnvelopeCipher {
  private current: Promise<{ plaintext: Uint8Array; wrapped: Uint8Array; created: number }> | undefined;
  /** Unwrapped data keys by wrapped key; a failed unwrap is not kept. */
  private readonly unwrapped: KeyedOnce<Uint8Array>;
  private readonly now: () => number;

  constructor(
    private readonly keys: DataKeyProvider,
    private readonly options: EnvelopeCipherOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.unwrapped = new KeyedOnce({ maxEntries: options.maxCachedKeys });
  }

  async seal(plaintext: Uint8Array, aad: string): Promise<Sealed> {
    const key = await this.dataKey();
    return { ciphertext: seal(key.plaintext, plaintext, Buffer.from(aad)), wrappedKey: key.wrapped };
  }

  /**
   * Throws ERR_CACHE_UNAVAILABLE when KMS is unavailable, and a plain Error when the entry can never be
   * read: its data key does not unwrap, or the ciphertext does not match its key or AAD (tampered, swapped).
   */
  async open(sealed: Sealed, aad: string): Promise<Uint8Array> {
    const key = await this.unwrap(sealed.wrappedKey);
    return open(key, sealed.ciphertext, Buffer.from(aad));
  }

  private dataKey(): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array; created: number }> {
    const current = this.current;
    if (current) {
      return current.then((key) =>
        this.now() - key.created < this.options.rotateAfterMs ? key : this.rotate(current),
      );
    }
    return this.rotate(undefined);
  }

  private rotate(
    expected: EnvelopeCipher['current'],
  ): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array; created: number }> {
    // Concurrent callers that saw the same old key share one new one.
    if (this.current !== expected && this.current) return this.current;
    const next = this.keys.generate().then((key) => {
      this.unwrapped.set(wrappedKeyId(key.wrapped), Promise.resolve(key.plaintext));
      return { ...key, created: this.now() };
    });
    this.current = next;
    next.catch(() => {
      if (this.current === next) this.current = undefined;
    });
    return next;
  }

  private unwrap(wrapped: Uint8Array): Promise<Uint8Array> {
    return this.unwrapped.get(wrappedKeyId(wrapped), () => this.keys.unwrap(wrapped));
  }
}

function wrappedKeyId(wrapped: Uint8Array): string {
  return createHash('sha256').update(wrapped).digest('base64url');
}

function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < 12 + 16) throw new Error('ciphertext too short');
  const iv = sealed.subarray(0, 12);
  const tag = sealed.subarray(sealed.length - 16);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
}

function cacheKeyError(cause: unknown, message: string): GatewayError {
  const code = awsFailureKind(cause) === 'configuration' ? 'ERR_AWS_UNCONFIGURED' : 'ERR_CACHE_UNAVAILABLE';
  return new GatewayError(code, message, { cause });
}
