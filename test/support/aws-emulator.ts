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
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMS_OPERATIONS, KmsState } from './aws-emulator/kms.ts';
import {
  AwsError,
  Controls,
  JSON_CONTENT_TYPE,
  type Output,
  parseJsonObject,
  readBody,
  requireSigV4,
  statusOf,
} from './aws-emulator/protocol.ts';
import { SECRETS_OPERATIONS, SecretsState } from './aws-emulator/secrets-manager.ts';

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

type AwsService = 'kms' | 'secretsmanager';

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
// HTTP routing: X-Amz-Target to a service's operation
// ---------------------------------------------------------------------------------------------------------

/** X-Amz-Target prefix -> service, and the member name its error shapes use for the text. */
const TARGETS: Readonly<Record<string, { service: AwsService; messageMember: 'message' | 'Message' }>> = {
  TrentService: { service: 'kms', messageMember: 'message' },
  secretsmanager: { service: 'secretsmanager', messageMember: 'Message' },
};

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
