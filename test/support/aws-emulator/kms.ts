// KMS (`TrentService.*`) for the AWS emulator: key specs and signing algorithms as data, signing as KMS
// does it (RAW and DIGEST), keys, aliases, multi-Region keys and the operations the gateway calls.
import {
  type BinaryLike,
  createCipheriv,
  createDecipheriv,
  createHash,
  constants as cryptoConstants,
  generateKeyPair,
  type KeyObject,
  privateEncrypt,
  randomBytes,
  randomUUID,
  sign,
} from 'node:crypto';
import { promisify } from 'node:util';
import type { ECDSA } from '@noble/curves/abstract/weierstrass.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  ACCOUNT_ID,
  AwsError,
  epochSeconds,
  type Output,
  optionalEnum,
  optionalInteger,
  optionalString,
  optionalStringMap,
  requiredBlob,
  requiredEnum,
  requiredString,
  validationError,
} from './protocol.ts';

// ---------------------------------------------------------------------------------------------------------
// KMS: algorithm and key spec facts
// ---------------------------------------------------------------------------------------------------------

type HashName = 'sha256' | 'sha384' | 'sha512';
type SignatureScheme = 'ECDSA' | 'RSASSA_PKCS1_V1_5' | 'RSASSA_PSS';

const KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'] as const;
type KeyUsage = (typeof KEY_USAGES)[number];

const RSA_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;

/**
 * One row per signing algorithm: its hash, padding scheme and the key specs KMS allows it with.
 * The table order is the order KMS lists SigningAlgorithms in KeyMetadata / GetPublicKey.
 * PSS uses MGF1 with the same hash and a salt as long as the hash, as KMS documents for RSASSA_PSS_*.
 */
const SIGNING_ALGORITHMS = {
  ECDSA_SHA_256: { hash: 'sha256', scheme: 'ECDSA', keySpecs: ['ECC_NIST_P256', 'ECC_SECG_P256K1'] },
  ECDSA_SHA_384: { hash: 'sha384', scheme: 'ECDSA', keySpecs: ['ECC_NIST_P384'] },
  ECDSA_SHA_512: { hash: 'sha512', scheme: 'ECDSA', keySpecs: ['ECC_NIST_P521'] },
  RSASSA_PKCS1_V1_5_SHA_256: { hash: 'sha256', scheme: 'RSASSA_PKCS1_V1_5', keySpecs: RSA_KEY_SPECS },
  RSASSA_PKCS1_V1_5_SHA_384: { hash: 'sha384', scheme: 'RSASSA_PKCS1_V1_5', keySpecs: RSA_KEY_SPECS },
  RSASSA_PKCS1_V1_5_SHA_512: { hash: 'sha512', scheme: 'RSASSA_PKCS1_V1_5', keySpecs: RSA_KEY_SPECS },
  RSASSA_PSS_SHA_256: { hash: 'sha256', scheme: 'RSASSA_PSS', keySpecs: RSA_KEY_SPECS },
  RSASSA_PSS_SHA_384: { hash: 'sha384', scheme: 'RSASSA_PSS', keySpecs: RSA_KEY_SPECS },
  RSASSA_PSS_SHA_512: { hash: 'sha512', scheme: 'RSASSA_PSS', keySpecs: RSA_KEY_SPECS },
} as const satisfies Record<string, { hash: HashName; scheme: SignatureScheme; keySpecs: readonly string[] }>;

type SigningAlgorithm = keyof typeof SIGNING_ALGORITHMS;
const SIGNING_ALGORITHM_NAMES = Object.keys(SIGNING_ALGORITHMS) as SigningAlgorithm[];

/** Digest length in bytes per hash: what a DIGEST message must measure. */
const DIGEST_LENGTH: Readonly<Record<HashName, number>> = { sha256: 32, sha384: 48, sha512: 64 };

/** DER DigestInfo prefixes for EMSA-PKCS1-v1_5 (RFC 8017 section 9.2, note 1). */
const DIGEST_INFO_PREFIX: Readonly<Record<HashName, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

interface EcCurve {
  /** Name for `generateKeyPair('ec')`. */
  curve: string;
  /**
   * The curve's ECDSA in @noble/curves, to sign a digest (node has no "sign this pre-hashed value" for
   * EC): a well-kept, audited implementation rather than curve arithmetic written here.
   */
  ecdsa: ECDSA;
}

type KeySpecFacts =
  | { kind: 'symmetric'; usages: readonly KeyUsage[] }
  | { kind: 'rsa'; modulusLength: number; usages: readonly KeyUsage[] }
  | ({ kind: 'ec'; usages: readonly KeyUsage[] } & EcCurve);

/** The key specs the emulator implements. ECC keys are SIGN_VERIFY only here (no KEY_AGREEMENT). */
const KEY_SPECS: Readonly<Record<string, KeySpecFacts>> = {
  SYMMETRIC_DEFAULT: { kind: 'symmetric', usages: ['ENCRYPT_DECRYPT'] },
  RSA_2048: { kind: 'rsa', modulusLength: 2048, usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'] },
  RSA_3072: { kind: 'rsa', modulusLength: 3072, usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'] },
  RSA_4096: { kind: 'rsa', modulusLength: 4096, usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'] },
  ECC_NIST_P256: {
    kind: 'ec',
    usages: ['SIGN_VERIFY'],
    curve: 'prime256v1',
    ecdsa: p256,
  },
  ECC_NIST_P384: {
    kind: 'ec',
    usages: ['SIGN_VERIFY'],
    curve: 'secp384r1',
    ecdsa: p384,
  },
  ECC_NIST_P521: {
    kind: 'ec',
    usages: ['SIGN_VERIFY'],
    curve: 'secp521r1',
    ecdsa: p521,
  },
  ECC_SECG_P256K1: {
    kind: 'ec',
    usages: ['SIGN_VERIFY'],
    curve: 'secp256k1',
    ecdsa: secp256k1,
  },
};

/** Every key spec in the KMS model, so an unimplemented one is told apart from an invalid value. */
const MODEL_KEY_SPECS = [
  ...Object.keys(KEY_SPECS),
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
  'ECC_NIST_EDWARDS25519',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
];
const MODEL_KEY_USAGES = [...KEY_USAGES, 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'];
const MODEL_SIGNING_ALGORITHMS = [
  ...SIGNING_ALGORITHM_NAMES,
  'SM2DSA',
  'ED25519_SHA_512',
  'ED25519_PH_SHA_512',
];
const MESSAGE_TYPES = ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const;
const ENCRYPTION_ALGORITHMS = [
  'SYMMETRIC_DEFAULT',
  'RSAES_OAEP_SHA_1',
  'RSAES_OAEP_SHA_256',
  'SM2PKE',
] as const;
const DATA_KEY_SPECS = { AES_256: 32, AES_128: 16 } as const;

function signingAlgorithmsFor(keySpec: string): SigningAlgorithm[] {
  return SIGNING_ALGORITHM_NAMES.filter((name) =>
    (SIGNING_ALGORITHMS[name].keySpecs as readonly string[]).includes(keySpec),
  );
}

function encryptionAlgorithmsFor(facts: KeySpecFacts): string[] {
  return facts.kind === 'symmetric' ? ['SYMMETRIC_DEFAULT'] : ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];
}

// ---------------------------------------------------------------------------------------------------------
// KMS: signing
// ---------------------------------------------------------------------------------------------------------

/** RAW messages go through node's ordinary sign, which hashes them first, exactly like KMS does. */
function signRaw(algorithm: SigningAlgorithm, privateKey: KeyObject, message: Buffer): Buffer {
  const { hash, scheme } = SIGNING_ALGORITHMS[algorithm];
  switch (scheme) {
    case 'ECDSA':
      return sign(hash, message, { key: privateKey, dsaEncoding: 'der' });
    case 'RSASSA_PKCS1_V1_5':
      return sign(hash, message, { key: privateKey, padding: cryptoConstants.RSA_PKCS1_PADDING });
    case 'RSASSA_PSS':
      return sign(hash, message, {
        key: privateKey,
        padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
        saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST,
      });
  }
}

/**
 * DIGEST messages must be signed without hashing again. node's `sign(null, ...)` still hashes (SHA-256 by
 * default), so each scheme is finished by hand from the digest onwards.
 */
function signDigest(algorithm: SigningAlgorithm, key: KmsKey, digest: Buffer): Buffer {
  const { hash, scheme } = SIGNING_ALGORITHMS[algorithm];
  const privateKey = key.privateKey!;
  switch (scheme) {
    case 'ECDSA':
      return ecdsaSignDigest(privateKey, key.facts as EcCurve, digest);
    case 'RSASSA_PKCS1_V1_5':
      // privateEncrypt with PKCS#1 padding applies the type-1 block padding to DigestInfo || digest.
      return privateEncrypt(
        { key: privateKey, padding: cryptoConstants.RSA_PKCS1_PADDING },
        Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]),
      );
    case 'RSASSA_PSS':
      return rsaPssSignDigest(privateKey, hash, digest);
  }
}

/** RSASSA-PSS over a digest: EMSA-PSS-ENCODE (RFC 8017 section 9.1.1), then the raw RSA private operation. */
function rsaPssSignDigest(privateKey: KeyObject, hash: HashName, digest: Buffer): Buffer {
  const modulusBits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  const encoded = emsaPssEncode(digest, hash, modulusBits - 1);
  const modulusBytes = Math.ceil(modulusBits / 8);
  const block = Buffer.concat([Buffer.alloc(modulusBytes - encoded.length), encoded]);
  return privateEncrypt({ key: privateKey, padding: cryptoConstants.RSA_NO_PADDING }, block);
}

function emsaPssEncode(digest: Buffer, hash: HashName, emBits: number): Buffer {
  const hashLength = digest.length;
  const saltLength = hashLength;
  const emLength = Math.ceil(emBits / 8);
  const salt = randomBytes(saltLength);
  const h = hashOf(hash, Buffer.alloc(8), digest, salt);
  const db = Buffer.concat([Buffer.alloc(emLength - saltLength - hashLength - 2), Buffer.from([0x01]), salt]);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ mask[i]!;
  db[0] = db[0]! & (0xff >> (8 * emLength - emBits)); // keeps the encoded message below the modulus
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

function mgf1(hash: HashName, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * DIGEST_LENGTH[hash] < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(hashOf(hash, seed, c));
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function hashOf(hash: HashName, ...parts: BinaryLike[]): Buffer {
  const h = createHash(hash);
  for (const part of parts) h.update(part);
  return h.digest();
}

/**
 * ECDSA over a digest (SEC 1 section 4.1.3) with a random nonce, as KMS signs: its signatures are not
 * deterministic (hence extraEntropy, which @noble/curves mixes into its RFC 6979 nonce) and s is not
 * normalised to the low half (lowS: false). KMS returns the DER ECDSA-Sig-Value.
 */
function ecdsaSignDigest(privateKey: KeyObject, { ecdsa }: EcCurve, digest: Buffer): Buffer {
  const d = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  return Buffer.from(
    ecdsa.sign(digest, d, { prehash: false, lowS: false, extraEntropy: true, format: 'der' }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// KMS: state and operations
// ---------------------------------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;
/** A multi-Region key's id. */
const MRK_ID = /^mrk-[0-9a-f]{32}$/;
const KMS_ARN = /^arn:aws:kms:([^:]*):([^:]*):(key|alias)\/(.+)$/;

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface KmsKey {
  id: string;
  arn: string;
  keySpec: string;
  facts: KeySpecFacts;
  keyUsage: KeyUsage;
  state: KeyState;
  createdAt: number;
  deletionDate?: number;
  description: string;
  /** A multi-Region key: PRIMARY, or a REPLICA sharing the primary's id and key material. */
  multiRegion?: 'PRIMARY' | 'REPLICA';
  /** Asymmetric keys. */
  privateKey?: KeyObject;
  publicKey?: KeyObject;
  /** SYMMETRIC_DEFAULT keys: the AES-256 key material. */
  secret?: Buffer;
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Ciphertext blob: version (1) || key id (36 ASCII) || IV (12) || GCM tag (16) || ciphertext. Like a real
 * KMS blob it names its key, so Decrypt needs no KeyId.
 */
const CIPHERTEXT_VERSION = 0x01;
const KEY_ID_AT = 1;
const IV_AT = KEY_ID_AT + 36;
const TAG_AT = IV_AT + 12;
const CIPHERTEXT_AT = TAG_AT + 16;

export class KmsState {
  readonly region: string;
  private readonly keys = new Map<string, KmsKey>();
  private readonly aliases = new Map<string, string>();

  constructor(region: string) {
    this.region = region;
  }

  keyArn(id: string): string {
    return `arn:aws:kms:${this.region}:${ACCOUNT_ID}:key/${id}`;
  }

  aliasArn(aliasName: string): string {
    return `arn:aws:kms:${this.region}:${ACCOUNT_ID}:${aliasName}`;
  }

  async createKey(keySpec: string, keyUsage: string, description = '', multiRegion = false): Promise<KmsKey> {
    const facts = KEY_SPECS[keySpec];
    if (!facts) {
      throw new AwsError(
        'UnsupportedOperationException',
        `KeySpec ${keySpec} is not supported by the AWS emulator.`,
      );
    }
    if (!(facts.usages as readonly string[]).includes(keyUsage)) {
      throw new AwsError(
        'ValidationException',
        `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`,
      );
    }
    // Multi-Region keys' ids are mrk- and 32 hex digits, the same in every Region.
    const id = multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID();
    const key: KmsKey = {
      id,
      arn: this.keyArn(id),
      keySpec,
      facts,
      keyUsage: keyUsage as KeyUsage,
      state: 'Enabled',
      createdAt: Date.now(),
      description,
      ...(multiRegion ? { multiRegion: 'PRIMARY' as const } : {}),
      ...(await generateKeyMaterial(facts)),
    };
    this.keys.set(id, key);
    return key;
  }

  /** A replica of another Region's multi-Region key: the same id and key material, this Region's ARN. */
  addReplica(primary: KmsKey): KmsKey {
    if (primary.multiRegion !== 'PRIMARY') {
      throw new AwsError(
        'UnsupportedOperationException',
        `${primary.arn} is not a multi-Region primary key.`,
      );
    }
    if (this.keys.has(primary.id)) {
      throw new AwsError('AlreadyExistsException', `Replica key ${this.keyArn(primary.id)} already exists.`);
    }
    const replica: KmsKey = {
      ...primary,
      arn: this.keyArn(primary.id),
      multiRegion: 'REPLICA',
      createdAt: Date.now(),
    };
    this.keys.set(primary.id, replica);
    return replica;
  }

  createAlias(aliasName: string, targetKeyId: string): void {
    if (!aliasName.startsWith('alias/')) {
      throw new AwsError(
        'ValidationException',
        'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
      );
    }
    if (!ALIAS_NAME.test(aliasName)) {
      throw validationError(
        `Value '${aliasName}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`,
      );
    }
    if (this.aliases.has(aliasName)) {
      throw new AwsError(
        'AlreadyExistsException',
        `An alias with the name ${this.aliasArn(aliasName)} already exists`,
      );
    }
    const key = this.resolveKey(targetKeyId, { allowAlias: false });
    if (key.state === 'PendingDeletion') throw pendingDeletion(key);
    this.aliases.set(aliasName, key.id);
  }

  /** UpdateAlias: points an existing alias at another key (key rotation by alias). */
  updateAlias(aliasName: string, targetKeyId: string): void {
    if (!this.aliases.has(aliasName)) {
      throw new AwsError('NotFoundException', `Alias ${this.aliasArn(aliasName)} is not found.`);
    }
    const key = this.resolveKey(targetKeyId, { allowAlias: false });
    if (key.state === 'PendingDeletion') throw pendingDeletion(key);
    this.aliases.set(aliasName, key.id);
  }

  setEnabled(keyRef: string, enabled: boolean): void {
    const key = this.resolveKey(keyRef, { allowAlias: false });
    if (key.state === 'PendingDeletion') throw pendingDeletion(key);
    key.state = enabled ? 'Enabled' : 'Disabled';
  }

  scheduleDeletion(keyRef: string, pendingWindowInDays: number): KmsKey {
    const key = this.resolveKey(keyRef, { allowAlias: false });
    if (key.state === 'PendingDeletion') throw pendingDeletion(key);
    key.state = 'PendingDeletion';
    key.deletionDate = Date.now() + pendingWindowInDays * 86_400_000;
    return key;
  }

  /**
   * KMS accepts a key id, key ARN, alias name or alias ARN for cryptographic operations and DescribeKey,
   * but only a key id or key ARN for key management operations (EnableKey, DisableKey, ...).
   */
  resolveKey(ref: string, { allowAlias }: { allowAlias: boolean }): KmsKey {
    let local = ref;
    const arn = KMS_ARN.exec(ref);
    if (arn) {
      const [, region, account, kind, rest] = arn;
      const foreign = region !== this.region || account !== ACCOUNT_ID;
      if (kind === 'key' && foreign) throw new AwsError('NotFoundException', `Key '${ref}' does not exist`);
      if (kind === 'alias' && foreign) throw new AwsError('NotFoundException', `Alias ${ref} is not found.`);
      local = kind === 'key' ? rest! : `alias/${rest}`;
    }
    if (local.startsWith('alias/') && allowAlias) {
      const keyId = this.aliases.get(local);
      if (keyId === undefined) {
        throw new AwsError('NotFoundException', `Alias ${this.aliasArn(local)} is not found.`);
      }
      return this.keys.get(keyId)!;
    }
    if (!UUID.test(local) && !MRK_ID.test(local))
      throw new AwsError('NotFoundException', `Invalid keyId ${ref}`);
    const key = this.keys.get(local);
    if (!key) throw new AwsError('NotFoundException', `Key '${this.keyArn(local)}' does not exist`);
    return key;
  }

  /** Cryptographic operations need an enabled key. */
  usableKey(ref: string): KmsKey {
    const key = this.resolveKey(ref, { allowAlias: true });
    if (key.state === 'Disabled') throw new AwsError('DisabledException', `${key.arn} is disabled.`);
    if (key.state === 'PendingDeletion') throw pendingDeletion(key);
    return key;
  }

  metadata(key: KmsKey): Output {
    return {
      AWSAccountId: ACCOUNT_ID,
      KeyId: key.id,
      Arn: key.arn,
      CreationDate: epochSeconds(key.createdAt),
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: key.keyUsage,
      KeyState: key.state,
      ...(key.deletionDate === undefined ? {} : { DeletionDate: epochSeconds(key.deletionDate) }),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      ...this.algorithms(key),
      MultiRegion: key.multiRegion !== undefined,
      ...(key.multiRegion ? { MultiRegionConfiguration: { MultiRegionKeyType: key.multiRegion } } : {}),
    };
  }

  algorithms(key: KmsKey): Output {
    return key.keyUsage === 'SIGN_VERIFY'
      ? { SigningAlgorithms: signingAlgorithmsFor(key.keySpec) }
      : { EncryptionAlgorithms: encryptionAlgorithmsFor(key.facts) };
  }

  encryptSymmetric(key: KmsKey, plaintext: Buffer, context: Record<string, string>): Buffer {
    const iv = randomBytes(TAG_AT - IV_AT);
    const cipher = createCipheriv('aes-256-gcm', key.secret!, iv);
    cipher.setAAD(encodeContext(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const header = Buffer.concat([Buffer.from([CIPHERTEXT_VERSION]), Buffer.from(key.id, 'ascii'), iv]);
    return Buffer.concat([header, cipher.getAuthTag(), ciphertext]);
  }

  /** Any tampering, a wrong key or a different encryption context fails authentication: InvalidCiphertext. */
  decryptSymmetric(
    blob: Buffer,
    context: Record<string, string>,
    keyRef: string | undefined,
  ): [KmsKey, Buffer] {
    if (blob.length < CIPHERTEXT_AT || blob[0] !== CIPHERTEXT_VERSION) {
      throw new AwsError('InvalidCiphertextException');
    }
    const keyId = blob.subarray(KEY_ID_AT, IV_AT).toString('ascii');
    if (!UUID.test(keyId)) throw new AwsError('InvalidCiphertextException');
    if (keyRef !== undefined && this.resolveKey(keyRef, { allowAlias: true }).id !== keyId) {
      throw new AwsError(
        'IncorrectKeyException',
        'The key ID in the request does not identify a CMK that can perform this operation.',
      );
    }
    const key = this.usableKey(keyId);
    if (key.facts.kind !== 'symmetric') throw new AwsError('InvalidCiphertextException');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.secret!, blob.subarray(IV_AT, TAG_AT));
      decipher.setAAD(encodeContext(context));
      decipher.setAuthTag(blob.subarray(TAG_AT, CIPHERTEXT_AT));
      return [key, Buffer.concat([decipher.update(blob.subarray(CIPHERTEXT_AT)), decipher.final()])];
    } catch {
      throw new AwsError('InvalidCiphertextException');
    }
  }
}

function pendingDeletion(key: KmsKey): AwsError {
  return new AwsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
}

async function generateKeyMaterial(facts: KeySpecFacts): Promise<Partial<KmsKey>> {
  switch (facts.kind) {
    case 'symmetric':
      return { secret: randomBytes(32) };
    case 'rsa':
      return generateKeyPairAsync('rsa', { modulusLength: facts.modulusLength, publicExponent: 0x10001 });
    case 'ec':
      return generateKeyPairAsync('ec', { namedCurve: facts.curve });
  }
}

/** The encryption context is bound as AAD; KMS ignores the order of its pairs, so sort them. */
function encodeContext(context: Record<string, string>): Buffer {
  return Buffer.from(
    JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  );
}

function requireUsage(key: KmsKey, usage: KeyUsage, operation: string): void {
  if (key.keyUsage !== usage) {
    throw new AwsError(
      'InvalidKeyUsageException',
      `${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`,
    );
  }
}

/** Encrypt, Decrypt and GenerateDataKey here work with SYMMETRIC_DEFAULT keys only. */
function requireSymmetricEncryption(key: KmsKey, operation: string, algorithm = 'SYMMETRIC_DEFAULT'): void {
  requireUsage(key, 'ENCRYPT_DECRYPT', operation);
  if (!encryptionAlgorithmsFor(key.facts).includes(algorithm)) {
    throw new AwsError(
      'InvalidKeyUsageException',
      `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`,
    );
  }
  if (key.facts.kind !== 'symmetric') {
    throw new AwsError(
      'UnsupportedOperationException',
      `The AWS emulator does not implement ${algorithm} for ${operation}.`,
    );
  }
}

type KmsHandler = (kms: KmsState, input: Record<string, unknown>) => Promise<Output>;

export const KMS_OPERATIONS: Readonly<Record<string, KmsHandler>> = {
  CreateKey: async (kms, input) => {
    const keySpec =
      optionalEnum(input, 'KeySpec', MODEL_KEY_SPECS) ??
      optionalEnum(input, 'CustomerMasterKeySpec', MODEL_KEY_SPECS) ??
      'SYMMETRIC_DEFAULT';
    const keyUsage = optionalEnum(input, 'KeyUsage', MODEL_KEY_USAGES) ?? 'ENCRYPT_DECRYPT';
    const multiRegion = input.MultiRegion === true;
    const key = await kms.createKey(keySpec, keyUsage, optionalString(input, 'Description'), multiRegion);
    return { KeyMetadata: kms.metadata(key) };
  },

  CreateAlias: async (kms, input) => {
    kms.createAlias(requiredString(input, 'AliasName'), requiredString(input, 'TargetKeyId'));
    return {};
  },

  UpdateAlias: async (kms, input) => {
    kms.updateAlias(requiredString(input, 'AliasName'), requiredString(input, 'TargetKeyId'));
    return {};
  },

  DescribeKey: async (kms, input) => {
    return {
      KeyMetadata: kms.metadata(kms.resolveKey(requiredString(input, 'KeyId'), { allowAlias: true })),
    };
  },

  EnableKey: async (kms, input) => {
    kms.setEnabled(requiredString(input, 'KeyId'), true);
    return {};
  },

  DisableKey: async (kms, input) => {
    kms.setEnabled(requiredString(input, 'KeyId'), false);
    return {};
  },

  ScheduleKeyDeletion: async (kms, input) => {
    const keyId = requiredString(input, 'KeyId');
    const days = optionalInteger(input, 'PendingWindowInDays', { min: 7, max: 30 }) ?? 30;
    const key = kms.scheduleDeletion(keyId, days);
    return {
      KeyId: key.arn,
      DeletionDate: epochSeconds(key.deletionDate!),
      KeyState: key.state,
      PendingWindowInDays: days,
    };
  },

  GetPublicKey: async (kms, input) => {
    const key = kms.usableKey(requiredString(input, 'KeyId'));
    if (!key.publicKey) {
      throw new AwsError(
        'UnsupportedOperationException',
        `${key.arn} key usage is not supported for GetPublicKey.`,
      );
    }
    return {
      KeyId: key.arn,
      PublicKey: key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      ...kms.algorithms(key),
    };
  },

  Sign: async (kms, input) => {
    const keyId = requiredString(input, 'KeyId');
    const message = requiredBlob(input, 'Message', { min: 1, max: 4096 });
    const messageType = optionalEnum(input, 'MessageType', MESSAGE_TYPES) ?? 'RAW';
    const requested = requiredEnum(input, 'SigningAlgorithm', MODEL_SIGNING_ALGORITHMS);
    const key = kms.usableKey(keyId);
    requireUsage(key, 'SIGN_VERIFY', 'Sign');
    const algorithm = signingAlgorithmsFor(key.keySpec).find((name) => name === requested);
    if (!algorithm) {
      throw new AwsError(
        'InvalidKeyUsageException',
        `Algorithm ${requested} is incompatible with key spec ${key.keySpec}.`,
      );
    }
    if (messageType === 'EXTERNAL_MU') {
      throw new AwsError(
        'ValidationException',
        'EXTERNAL_MU message type is only supported for ML-DSA keys.',
      );
    }
    const { hash } = SIGNING_ALGORITHMS[algorithm];
    if (messageType === 'DIGEST' && message.length !== DIGEST_LENGTH[hash]) {
      throw new AwsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
    }
    const signature =
      messageType === 'DIGEST'
        ? signDigest(algorithm, key, message)
        : signRaw(algorithm, key.privateKey!, message);
    return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
  },

  GenerateDataKey: async (kms, input) => {
    const keyId = requiredString(input, 'KeyId');
    const keySpec = optionalEnum(
      input,
      'KeySpec',
      Object.keys(DATA_KEY_SPECS) as (keyof typeof DATA_KEY_SPECS)[],
    );
    const numberOfBytes = optionalInteger(input, 'NumberOfBytes', { min: 1, max: 1024 });
    const context = optionalStringMap(input, 'EncryptionContext');
    if ((keySpec === undefined) === (numberOfBytes === undefined)) {
      throw new AwsError('ValidationException', 'Please specify either number of bytes or key spec.');
    }
    const key = kms.usableKey(keyId);
    requireSymmetricEncryption(key, 'GenerateDataKey');
    const plaintext = randomBytes(keySpec ? DATA_KEY_SPECS[keySpec] : numberOfBytes!);
    return {
      KeyId: key.arn,
      Plaintext: plaintext.toString('base64'),
      CiphertextBlob: kms.encryptSymmetric(key, plaintext, context).toString('base64'),
    };
  },

  Encrypt: async (kms, input) => {
    const keyId = requiredString(input, 'KeyId');
    const plaintext = requiredBlob(input, 'Plaintext', { min: 1, max: 4096 });
    const context = optionalStringMap(input, 'EncryptionContext');
    const algorithm =
      optionalEnum(input, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
    const key = kms.usableKey(keyId);
    requireSymmetricEncryption(key, 'Encrypt', algorithm);
    return {
      KeyId: key.arn,
      CiphertextBlob: kms.encryptSymmetric(key, plaintext, context).toString('base64'),
      EncryptionAlgorithm: algorithm,
    };
  },

  Decrypt: async (kms, input) => {
    const blob = requiredBlob(input, 'CiphertextBlob', { min: 1, max: 6144 });
    const context = optionalStringMap(input, 'EncryptionContext');
    const algorithm =
      optionalEnum(input, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
    const [key, plaintext] = kms.decryptSymmetric(blob, context, optionalString(input, 'KeyId'));
    requireSymmetricEncryption(key, 'Decrypt', algorithm);
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: algorithm };
  },
};
