/**
 * A local endpoint that speaks the AWS JSON 1.1 protocol for KMS (`TrentService.*`) and Secrets Manager
 * (`secretsmanager.*`), so that the real `@aws-sdk/client-kms` and `@aws-sdk/client-secrets-manager` run
 * their whole code path (serialisation, SigV4 signing, HTTP, retries, error deserialisation) against it.
 *
 * It imitates AWS, not our code. Where AWS behaviour was checked, the source is noted next to it:
 * - error shape: `{"__type": name, "message"|"Message": text}` plus the `x-amzn-ErrorType` header, which is
 *   what the SDK's `loadJsonRpcErrorCode` reads (`@smithy/core` protocols/json/parseJsonBody.js).
 *   KMS models its error text as `message`, Secrets Manager as `Message` (the client schemas in
 *   `@aws-sdk/client-*` / dist-es/schemas/schemas_0.js), so each service answers with its own member.
 * - HTTP status: every KMS and Secrets Manager client error is 400, internal errors are 500. The KMS API
 *   reference lists "HTTP Status Code: 400" for NotFoundException, DisabledException, KMSInvalidStateException
 *   etc. and 500 for KMSInternalException / DependencyTimeoutException, and real responses show
 *   "Status Code: 400; Error Code: NotFoundException" (e.g. github.com/cloudposse/docs/issues/152). The
 *   `httpError` 404/409 traits in the current KMS Smithy model belong to its legacy awsQuery mapping
 *   (`awsQueryError`) and are not what the JSON endpoint sends.
 * - an incompatible signing algorithm is InvalidKeyUsageException ("The encryption algorithm or signing
 *   algorithm specified for the operation is incompatible with the type of key material in the KMS key",
 *   KMS API reference), while a value outside the enum is a ValidationException.
 * - a DIGEST message whose length differs from the algorithm's hash is a ValidationException (API_Sign:
 *   "the length of the Message value must match the length of hashed messages for the specified signing
 *   algorithm").
 * - reading a secret scheduled for deletion is InvalidRequestException "You can't perform this operation on
 *   the secret because it was marked for deletion." (the message the Terraform AWS provider matches on).
 *
 * Retries: the SDK's standard retry strategy retries ThrottlingException (and the other throttling codes)
 * and every 5xx, up to 3 attempts by default. So `failNext('Sign', 'ThrottlingException', 1)` is invisible
 * to a caller with default retries: the call succeeds on its second attempt. Observe it with
 * `countCalls('Sign') === 2`, or build the client with `maxAttempts: 1` to see the error itself.
 */
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
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { ECDSA } from '@noble/curves/abstract/weierstrass.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

export type AwsService = 'kms' | 'secretsmanager';

export interface AwsEmulatorCall {
  service: AwsService;
  operation: string;
  input: Record<string, unknown>;
}

export interface AwsEmulator {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** `us-east-1` unless given to `startAwsEmulator`. */
  readonly region: string;
  /** Every request received, in order, with its parsed JSON body (blobs stay base64 strings). */
  readonly calls: ReadonlyArray<AwsEmulatorCall>;
  countCalls(operation: string): number;
  resetCalls(): void;
  /**
   * Make the next `times` (default 1) requests of `operation` fail with this AWS error name, e.g.
   * 'ThrottlingException', 'AccessDeniedException' (HTTP 400) or 'InternalFailure' (HTTP 500).
   * The SDK retries throttling errors and 5xx by itself: see the note at the top of this file.
   */
  failNext(operation: string, errorName: string, times?: number): void;
  /** Delay every response of this operation by `ms` (for timeout tests); 0 clears it. */
  setLatency(operation: string, ms: number): void;
  /**
   * Answer this operation ThrottlingException beyond `perSecond` requests in any second (sliding), as
   * KMS enforces its request quotas; 0 clears it. Throttled requests are counted in `calls` too.
   * @see https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html
   */
  setRateLimit(operation: string, perSecond: number): void;
  /**
   * Create a KMS key through the same state as the CreateKey operation. `keyUsage` defaults to
   * ENCRYPT_DECRYPT for SYMMETRIC_DEFAULT and SIGN_VERIFY for asymmetric specs.
   */
  createKey(
    keySpec: string,
    keyUsage?: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT',
    alias?: string,
  ): Promise<{ keyId: string; arn: string }>;
  /**
   * Create a multi-Region primary key, like CreateKey with `MultiRegion: true`: its id is `mrk-` and 32 hex
   * digits.
   */
  createMultiRegionKey(
    keySpec: string,
    keyUsage?: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT',
  ): Promise<{ keyId: string; arn: string }>;
  /**
   * What ReplicateKey does with `ReplicaRegion` set to `to`'s Region: a replica in that emulator with the
   * primary's key id and key material, and an ARN naming its own Region.
   * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
   */
  replicateKey(keyId: string, to: AwsEmulator): { keyId: string; arn: string };
  /** Disable a key (key id or key ARN), like DisableKey. */
  disableKey(keyId: string): void;
  /** Create the secret, or put a new AWSCURRENT version when it exists, like CreateSecret / PutSecretValue. */
  putSecret(name: string, value: string): { arn: string };
  close(): Promise<void>;
}

/** Client configuration that points a real SDK client at the emulator. */
export function awsClientConfig(emu: Pick<AwsEmulator, 'endpoint' | 'region'>): {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  return {
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

export async function startAwsEmulator(options: { region?: string } = {}): Promise<AwsEmulator> {
  const region = options.region ?? 'us-east-1';
  const kms = new KmsState(region);
  const secrets = new SecretsState(region);
  const controls = new Controls();
  const server = createServer((req, res) => {
    // A request that breaks off mid-body has nobody left to answer.
    handleRequest(req, res, { kms, secrets, controls }).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const emulator: AwsEmulator = {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    get calls() {
      return controls.calls;
    },
    countCalls: (operation) => controls.calls.filter((call) => call.operation === operation).length,
    resetCalls: () => {
      controls.calls.length = 0;
    },
    failNext: (operation, errorName, times = 1) => controls.failNext(operation, errorName, times),
    setLatency: (operation, ms) => controls.setLatency(operation, ms),
    setRateLimit: (operation, perSecond) => controls.setRateLimit(operation, perSecond),
    createKey: async (keySpec, keyUsage, alias) => {
      const usage = keyUsage ?? (keySpec === 'SYMMETRIC_DEFAULT' ? 'ENCRYPT_DECRYPT' : 'SIGN_VERIFY');
      const key = await kms.createKey(keySpec, usage);
      if (alias !== undefined) kms.createAlias(alias, key.id);
      return { keyId: key.id, arn: key.arn };
    },
    createMultiRegionKey: async (keySpec, keyUsage) => {
      const usage = keyUsage ?? (keySpec === 'SYMMETRIC_DEFAULT' ? 'ENCRYPT_DECRYPT' : 'SIGN_VERIFY');
      const key = await kms.createKey(keySpec, usage, '', true);
      return { keyId: key.id, arn: key.arn };
    },
    replicateKey: (keyId, to) => {
      const target = KMS_STATES.get(to);
      if (!target) throw new Error('replicateKey: the target is not an AWS emulator');
      const replica = target.addReplica(kms.resolveKey(keyId, { allowAlias: false }));
      return { keyId: replica.id, arn: replica.arn };
    },
    disableKey: (keyId) => kms.setEnabled(keyId, false),
    putSecret: (name, value) => ({ arn: secrets.putString(name, value) }),
    close: async () => {
      controls.cancelPendingResponses();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
  KMS_STATES.set(emulator, kms);
  return emulator;
}

/** Each emulator's KMS state, so one can put a replica key into another (replicateKey). */
const KMS_STATES = new WeakMap<AwsEmulator, KmsState>();

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

/** An error AWS would answer with; `message` undefined means AWS sends none (e.g. InvalidCiphertextException). */
class AwsError extends Error {
  readonly type: string;
  readonly awsMessage: string | undefined;
  constructor(type: string, message?: string) {
    super(message ?? type);
    this.type = type;
    this.awsMessage = message;
  }
}

/** Errors answered with a 5xx; every other AWS error on these services is a 400 (see the file header). */
const SERVER_ERROR_STATUS: Readonly<Record<string, number>> = {
  InternalFailure: 500,
  ServiceUnavailable: 503,
  KMSInternalException: 500,
  DependencyTimeoutException: 500,
  KeyUnavailableException: 500,
  InternalServiceError: 500,
};

/** Messages for errors injected with `failNext`, close to what AWS writes. */
const INJECTED_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  ThrottlingException: 'Rate exceeded',
  AccessDeniedException:
    'User: arn:aws:iam::000000000000:user/test is not authorized to perform this operation',
  InternalFailure: 'The request processing has failed because of an unknown error, exception or failure.',
  ServiceUnavailable: 'Service is unavailable',
};

function statusOf(errorType: string): number {
  return SERVER_ERROR_STATUS[errorType] ?? 400;
}

/** The coral-style text AWS uses for request-shape violations. */
function validationError(detail: string): AwsError {
  return new AwsError('ValidationException', `1 validation error detected: ${detail}`);
}

// ---------------------------------------------------------------------------------------------------------
// HTTP / protocol
// ---------------------------------------------------------------------------------------------------------

/** X-Amz-Target prefix -> service, and the member name its error shapes use for the text. */
const TARGETS: Readonly<Record<string, { service: AwsService; messageMember: 'message' | 'Message' }>> = {
  TrentService: { service: 'kms', messageMember: 'message' },
  secretsmanager: { service: 'secretsmanager', messageMember: 'Message' },
};

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

interface Backends {
  kms: KmsState;
  secrets: SecretsState;
  controls: Controls;
}

async function handleRequest(req: IncomingMessage, res: ServerResponse, backends: Backends): Promise<void> {
  const body = await readBody(req);
  const [prefix = '', operation = ''] = String(req.headers['x-amz-target'] ?? '').split('.', 2);
  const target = TARGETS[prefix];
  const messageMember = target?.messageMember ?? 'message';
  const parsed = parseJsonObject(body);
  if (target) {
    backends.controls.calls.push({ service: target.service, operation, input: parsed ?? {} });
  }

  let status = 200;
  let payload: Record<string, unknown>;
  let errorType: string | undefined;
  try {
    payload = await dispatch(req, target?.service, operation, parsed, backends);
  } catch (err) {
    const awsError = err instanceof AwsError ? err : new AwsError('InternalFailure', String(err));
    errorType = awsError.type;
    status = statusOf(awsError.type);
    payload = { __type: awsError.type };
    if (awsError.awsMessage !== undefined) payload[messageMember] = awsError.awsMessage;
  }

  await backends.controls.delay(operation);
  if (res.destroyed) return; // the client gave up (timeout test); nothing left to answer
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}

async function dispatch(
  req: IncomingMessage,
  service: AwsService | undefined,
  operation: string,
  input: Record<string, unknown> | undefined,
  { kms, secrets, controls }: Backends,
): Promise<Record<string, unknown>> {
  requireSigV4(req.headers.authorization);
  const handler = req.method === 'POST' ? findHandler(service, operation, { kms, secrets }) : undefined;
  if (!handler) throw new AwsError('UnknownOperationException');
  if (!input) {
    throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
  }
  controls.throwInjectedFailure(operation);
  return handler(input);
}

/** Own properties only, so a target such as `TrentService.toString` is not mistaken for an operation. */
function findHandler(
  service: AwsService | undefined,
  operation: string,
  { kms, secrets }: Pick<Backends, 'kms' | 'secrets'>,
): ((input: Record<string, unknown>) => Promise<Output>) | undefined {
  if (service === 'kms' && Object.hasOwn(KMS_OPERATIONS, operation)) {
    return (input) => KMS_OPERATIONS[operation]!(kms, input);
  }
  if (service === 'secretsmanager' && Object.hasOwn(SECRETS_OPERATIONS, operation)) {
    return (input) => SECRETS_OPERATIONS[operation]!(secrets, input);
  }
  return undefined;
}

/** AWS authenticates before anything else; the signature itself is not verified here. */
function requireSigV4(authorization: string | undefined): void {
  if (authorization === undefined || authorization === '') {
    throw new AwsError('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
  }
  if (!authorization.startsWith('AWS4-HMAC-SHA256 ')) {
    throw new AwsError(
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.`,
    );
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------
// Test controls
// ---------------------------------------------------------------------------------------------------------

class Controls {
  readonly calls: AwsEmulatorCall[] = [];
  private readonly failures = new Map<string, { errorName: string; remaining: number }[]>();
  private readonly latencies = new Map<string, number>();
  private readonly pending = new Set<PendingResponse>();

  failNext(operation: string, errorName: string, times: number): void {
    if (times < 1) return;
    const queue = this.failures.get(operation) ?? [];
    queue.push({ errorName, remaining: times });
    this.failures.set(operation, queue);
  }

  private readonly rateLimits = new Map<string, { perSecond: number; accepted: number[] }>();

  setRateLimit(operation: string, perSecond: number): void {
    if (perSecond > 0) this.rateLimits.set(operation, { perSecond, accepted: [] });
    else this.rateLimits.delete(operation);
  }

  throwInjectedFailure(operation: string): void {
    const limit = this.rateLimits.get(operation);
    if (limit) {
      const now = performance.now();
      while (limit.accepted.length > 0 && now - limit.accepted[0]! >= 1000) limit.accepted.shift();
      if (limit.accepted.length >= limit.perSecond) {
        throw new AwsError('ThrottlingException', INJECTED_ERROR_MESSAGES.ThrottlingException);
      }
      limit.accepted.push(now);
    }
    const queue = this.failures.get(operation);
    const next = queue?.[0];
    if (!queue || !next) return;
    next.remaining -= 1;
    if (next.remaining <= 0) queue.shift();
    throw new AwsError(
      next.errorName,
      INJECTED_ERROR_MESSAGES[next.errorName] ?? `Injected ${next.errorName}`,
    );
  }

  setLatency(operation: string, ms: number): void {
    if (ms > 0) this.latencies.set(operation, ms);
    else this.latencies.delete(operation);
  }

  async delay(operation: string): Promise<void> {
    const ms = this.latencies.get(operation);
    if (!ms) return;
    await new Promise<void>((resolve) => {
      const entry: PendingResponse = { timer: setTimeout(() => this.release(entry), ms), resolve };
      this.pending.add(entry);
    });
  }

  /** Release delayed responses so `close()` does not wait for their timers. */
  cancelPendingResponses(): void {
    for (const entry of [...this.pending]) this.release(entry);
  }

  private release(entry: PendingResponse): void {
    clearTimeout(entry.timer);
    this.pending.delete(entry);
    entry.resolve();
  }
}

interface PendingResponse {
  timer: NodeJS.Timeout;
  resolve: () => void;
}

// ---------------------------------------------------------------------------------------------------------
// Input validation (coral-style messages, member names in lowerCamelCase as AWS reports them)
// ---------------------------------------------------------------------------------------------------------

type Output = Record<string, unknown>;

function memberName(field: string): string {
  return field.charAt(0).toLowerCase() + field.slice(1);
}

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AwsError('SerializationException', `Expected a string for ${field}`);
  }
  return value;
}

function requiredString(input: Record<string, unknown>, field: string): string {
  const value = optionalString(input, field);
  if (value === undefined) {
    throw validationError(
      `Value null at '${memberName(field)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function optionalEnum<T extends string>(
  input: Record<string, unknown>,
  field: string,
  allowed: readonly T[],
): T | undefined {
  const value = optionalString(input, field);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw validationError(
      `Value '${value}' at '${memberName(field)}' failed to satisfy constraint: ` +
        `Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }
  return value as T;
}

function requiredEnum<T extends string>(
  input: Record<string, unknown>,
  field: string,
  allowed: readonly T[],
): T {
  requiredString(input, field);
  return optionalEnum(input, field, allowed) as T;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Blobs travel base64-encoded in JSON; length limits apply to the decoded bytes, as in the model. */
function optionalBlob(
  input: Record<string, unknown>,
  field: string,
  limits: { min: number; max: number },
): Buffer | undefined {
  const text = optionalString(input, field);
  if (text === undefined) return undefined;
  if (!BASE64.test(text)) throw new AwsError('SerializationException', `Invalid base64 in ${field}`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < limits.min) {
    throw validationError(
      `Value at '${memberName(field)}' failed to satisfy constraint: ` +
        `Member must have length greater than or equal to ${limits.min}`,
    );
  }
  if (bytes.length > limits.max) {
    throw validationError(
      `Value at '${memberName(field)}' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${limits.max}`,
    );
  }
  return bytes;
}

function requiredBlob(
  input: Record<string, unknown>,
  field: string,
  limits: { min: number; max: number },
): Buffer {
  const bytes = optionalBlob(input, field, limits);
  if (bytes === undefined) {
    throw validationError(
      `Value null at '${memberName(field)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return bytes;
}

function optionalInteger(
  input: Record<string, unknown>,
  field: string,
  range: { min: number; max: number },
): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new AwsError('SerializationException', `Expected an integer for ${field}`);
  }
  if (value < range.min || value > range.max) {
    const bound =
      value < range.min ? `greater than or equal to ${range.min}` : `less than or equal to ${range.max}`;
    throw validationError(
      `Value '${value}' at '${memberName(field)}' failed to satisfy constraint: Member must have value ${bound}`,
    );
  }
  return value;
}

function optionalStringMap(input: Record<string, unknown>, field: string): Record<string, string> {
  const value = input[field];
  if (value === undefined || value === null) return {};
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new AwsError('SerializationException', `Expected a map of strings for ${field}`);
  }
  return value as Record<string, string>;
}

const epochSeconds = (ms: number): number => ms / 1000;

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

const ACCOUNT_ID = '000000000000';
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

class KmsState {
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

const KMS_OPERATIONS: Readonly<Record<string, KmsHandler>> = {
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

// ---------------------------------------------------------------------------------------------------------
// Secrets Manager: state and operations
// ---------------------------------------------------------------------------------------------------------

interface SecretValue {
  string?: string;
  binary?: Buffer;
}

interface SecretVersion {
  id: string;
  value: SecretValue;
  createdAt: number;
  stages: Set<string>;
}

interface Secret {
  name: string;
  arn: string;
  createdAt: number;
  deletedAt?: number;
  versions: Map<string, SecretVersion>;
}

const SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret.";
const SECRET_MARKED_FOR_DELETION =
  "You can't perform this operation on the secret because it was marked for deletion.";
const SECRET_ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

class SecretsState {
  readonly region: string;
  private readonly secrets = new Map<string, Secret>();

  constructor(region: string) {
    this.region = region;
  }

  create(name: string, value: SecretValue | undefined, versionId: string): Secret {
    const existing = this.secrets.get(name);
    if (existing?.deletedAt !== undefined) {
      throw new AwsError(
        'InvalidRequestException',
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    if (existing) {
      throw new AwsError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const secret: Secret = {
      name,
      // Secrets Manager appends a hyphen and six random characters to the name in the ARN.
      arn: `arn:aws:secretsmanager:${this.region}:${ACCOUNT_ID}:secret:${name}-${randomSuffix()}`,
      createdAt: Date.now(),
      versions: new Map(),
    };
    this.secrets.set(name, secret);
    if (value) this.addVersion(secret, value, versionId);
    return secret;
  }

  /** The new version becomes AWSCURRENT and the previous current one AWSPREVIOUS, as PutSecretValue does. */
  addVersion(secret: Secret, value: SecretValue, versionId: string): SecretVersion {
    const existing = secret.versions.get(versionId);
    if (existing) {
      if (sameValue(existing.value, value)) return existing; // an idempotent retry of the same request
      throw new AwsError(
        'ResourceExistsException',
        "You can't modify an existing version, you can only create a new version.",
      );
    }
    for (const version of secret.versions.values()) {
      version.stages.delete('AWSPREVIOUS');
      if (version.stages.delete('AWSCURRENT')) version.stages.add('AWSPREVIOUS');
    }
    const version: SecretVersion = {
      id: versionId,
      value,
      createdAt: Date.now(),
      stages: new Set(['AWSCURRENT']),
    };
    secret.versions.set(versionId, version);
    return version;
  }

  /** SecretId is a name, the full ARN, or the ARN without its random suffix (a partial ARN). */
  find(secretId: string): Secret {
    for (const secret of this.secrets.values()) {
      const partialArn = secret.arn.slice(0, -'-abcdef'.length);
      if (secretId === secret.name || secretId === secret.arn || secretId === partialArn) return secret;
    }
    throw new AwsError('ResourceNotFoundException', SECRET_NOT_FOUND);
  }

  findLive(secretId: string): Secret {
    const secret = this.find(secretId);
    if (secret.deletedAt !== undefined) {
      throw new AwsError('InvalidRequestException', SECRET_MARKED_FOR_DELETION);
    }
    return secret;
  }

  remove(secret: Secret): void {
    this.secrets.delete(secret.name);
  }

  putString(name: string, value: string): string {
    const secret = this.secrets.get(name);
    if (!secret) return this.create(name, { string: value }, randomUUID()).arn;
    this.addVersion(this.findLive(name), { string: value }, randomUUID());
    return secret.arn;
  }
}

function randomSuffix(): string {
  return Array.from(randomBytes(6), (byte) => SECRET_ID_CHARS[byte % SECRET_ID_CHARS.length]).join('');
}

function sameValue(a: SecretValue, b: SecretValue): boolean {
  if (a.string !== b.string) return false;
  if (a.binary === undefined || b.binary === undefined) return a.binary === b.binary;
  return a.binary.equals(b.binary);
}

function secretValueOf(input: Record<string, unknown>, required: boolean): SecretValue | undefined {
  const string = optionalString(input, 'SecretString');
  const binary = optionalBlob(input, 'SecretBinary', { min: 1, max: 65536 });
  if (string !== undefined && binary !== undefined) {
    throw new AwsError(
      'InvalidParameterException',
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  if (string === undefined && binary === undefined) {
    if (!required) return undefined;
    throw new AwsError('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
  }
  return string === undefined ? { binary } : { string };
}

function selectVersion(
  secret: Secret,
  versionId: string | undefined,
  stage: string | undefined,
): SecretVersion {
  if (versionId !== undefined) {
    const version = secret.versions.get(versionId);
    if (!version || (stage !== undefined && !version.stages.has(stage))) {
      throw new AwsError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
      );
    }
    return version;
  }
  const label = stage ?? 'AWSCURRENT';
  const version = [...secret.versions.values()].find((v) => v.stages.has(label));
  if (!version) {
    throw new AwsError(
      'ResourceNotFoundException',
      `Secrets Manager can't find the specified secret value for staging label: ${label}`,
    );
  }
  return version;
}

type SecretsHandler = (secrets: SecretsState, input: Record<string, unknown>) => Promise<Output>;

const SECRETS_OPERATIONS: Readonly<Record<string, SecretsHandler>> = {
  CreateSecret: async (secrets, input) => {
    const name = requiredString(input, 'Name');
    const value = secretValueOf(input, false);
    // The SDK fills ClientRequestToken (an idempotency token) itself; AWS uses it as the VersionId.
    const versionId = optionalString(input, 'ClientRequestToken') ?? randomUUID();
    const secret = secrets.create(name, value, versionId);
    return { ARN: secret.arn, Name: secret.name, ...(value ? { VersionId: versionId } : {}) };
  },

  PutSecretValue: async (secrets, input) => {
    const secret = secrets.findLive(requiredString(input, 'SecretId'));
    const value = secretValueOf(input, true)!;
    const version = secrets.addVersion(
      secret,
      value,
      optionalString(input, 'ClientRequestToken') ?? randomUUID(),
    );
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
  },

  GetSecretValue: async (secrets, input) => {
    const secret = secrets.findLive(requiredString(input, 'SecretId'));
    const version = selectVersion(
      secret,
      optionalString(input, 'VersionId'),
      optionalString(input, 'VersionStage'),
    );
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      ...(version.value.string === undefined
        ? { SecretBinary: version.value.binary!.toString('base64') }
        : { SecretString: version.value.string }),
      VersionStages: [...version.stages],
      CreatedDate: epochSeconds(version.createdAt),
    };
  },

  DeleteSecret: async (secrets, input) => {
    const secret = secrets.find(requiredString(input, 'SecretId'));
    const windowDays = optionalInteger(input, 'RecoveryWindowInDays', { min: 7, max: 30 });
    const force = input.ForceDeleteWithoutRecovery === true;
    if (force && windowDays !== undefined) {
      throw new AwsError(
        'InvalidParameterException',
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    }
    if (force) {
      secrets.remove(secret);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(Date.now()) };
    }
    secret.deletedAt ??= Date.now() + (windowDays ?? 30) * 86_400_000;
    return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(secret.deletedAt) };
  },
};
