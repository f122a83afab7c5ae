import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsErrorName, awsFailureKind } from '../aws/aws-errors.ts';
import { type AwsCallLimits, awsCallOptions, SECRETS_MANAGER_CALL_LIMITS } from '../aws/call-limits.ts';
import { GatewayError } from '../errors.ts';
import { KeyedOnce } from '../once.ts';

export interface SecretsManagerStoreOptions {
  /** How long a fetched secret is reused; rotation is picked up after this. 0 disables caching. */
  readonly ttlSeconds: number;
  readonly now?: () => number;
  /** Secrets Manager failed after the TTL: the last value read was served (for another TTL from then). */
  readonly onStale?: (secretId: string, error: unknown) => void;
  /** The last value read is served through an outage for at most this long after it was read. */
  readonly maxStaleSeconds?: number;
  /** Bounds on each GetSecretValue (the request's deadline bounds it too). */
  readonly callLimits?: AwsCallLimits;
}

/**
 * Errors that mean the reference points at nothing, so asking again will not help. For GetSecretValue,
 * InvalidRequestException means the secret is scheduled for deletion (API_GetSecretValue, Errors).
 */
const NOT_FOUND = new Set(['ResourceNotFoundException', 'InvalidRequestException']);

const DEFAULT_MAX_STALE_SECONDS = 3600;

/**
 * An outage (the shared AWS policy's `transient`) is no reason to forget a secret; a refusal (access
 * denied, cannot decrypt) says the secret is gone for us.
 */
function isOutage(error: unknown): boolean {
  const gatewayError = error as GatewayError;
  return gatewayError.code === 'ERR_SECRET_UNAVAILABLE' && awsFailureKind(gatewayError.cause) === 'transient';
}

/**
 * Reads secrets from AWS Secrets Manager with an in-memory cache per container. The promise is cached,
 * not the value, so concurrent first calls share one GetSecretValue (as middy's secrets middleware does).
 * @see https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
 */
export class SecretsManagerStore {
  private readonly cache: KeyedOnce<string>;
  private readonly lastRead = new Map<string, { value: string; readAt: number }>();
  private readonly now: () => number;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly options: SecretsManagerStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.cache = new KeyedOnce({ maxAgeMs: options.ttlSeconds * 1000, now: this.now });
  }

  /** The secret's string, or one field of a JSON secret. */
  async get(secretId: string, field?: string): Promise<string> {
    return fieldOf(secretId, await this.fetch(secretId), field);
  }

  /**
   * Reads the secret from Secrets Manager now, past the cache and its stale values, for the readiness
   * probe: a value cached an hour ago says nothing about whether Secrets Manager answers today. Bounded by
   * `signal` as well as by the call limits; fails as `get` would.
   */
  async check(secretId: string, field: string | undefined, signal: AbortSignal): Promise<void> {
    fieldOf(secretId, await this.getSecretValue(secretId, signal), field);
  }

  /** One shared GetSecretValue per secret per TTL; a failure is not remembered: the next request asks again. */
  private fetch(secretId: string): Promise<string> {
    return this.cache.get(secretId, () =>
      this.getSecretValue(secretId).then(
        (fetched) => {
          // A TTL of 0 caches nothing, not even for an outage: the operator asked for every read to be
          // Secrets Manager's current answer (a revoked API key hash must stop working at once).
          if (this.options.ttlSeconds > 0)
            this.lastRead.set(secretId, { value: fetched, readAt: this.now() });
          return fetched;
        },
        (error: unknown) => {
          // An outage is no reason to forget a secret that was valid a TTL ago, for a while; a deleted
          // secret, or one we may no longer read or decrypt, is.
          const last = this.lastRead.get(secretId);
          const maxStaleMs = (this.options.maxStaleSeconds ?? DEFAULT_MAX_STALE_SECONDS) * 1000;
          if (!last || this.now() - last.readAt > maxStaleMs || !isOutage(error)) throw error;
          this.options.onStale?.(secretId, error);
          // Another TTL from now, when the failed read ended: counted from its start, a TTL no longer than
          // the read (up to 5 s) would already be over, and the next use would wait on Secrets Manager again.
          this.cache.set(secretId, Promise.resolve(last.value));
          return last.value;
        },
      ),
    );
  }

  private async getSecretValue(secretId: string, signal?: AbortSignal): Promise<string> {
    try {
      const options = awsCallOptions(this.options.callLimits ?? SECRETS_MANAGER_CALL_LIMITS);
      const output = await this.client.send(
        new GetSecretValueCommand({ SecretId: secretId }),
        signal ? { ...options, abortSignal: AbortSignal.any([options.abortSignal, signal]) } : options,
      );
      if (output.SecretString !== undefined) return output.SecretString;
      if (output.SecretBinary !== undefined) return Buffer.from(output.SecretBinary).toString('utf8');
    } catch (cause) {
      const awsName = awsErrorName(cause);
      throw new GatewayError(
        secretErrorCode(cause),
        `cannot read secret "${secretId}" from Secrets Manager (${awsName})`,
        { cause },
      );
    }
    throw new GatewayError('ERR_SECRET_NOT_FOUND', `secret "${secretId}" has no value`);
  }
}

function secretErrorCode(cause: unknown): GatewayError['code'] {
  const kind = awsFailureKind(cause);
  if (kind === 'configuration') return 'ERR_AWS_UNCONFIGURED';
  if (kind === 'refused' && NOT_FOUND.has(awsErrorName(cause))) return 'ERR_SECRET_NOT_FOUND';
  return 'ERR_SECRET_UNAVAILABLE';
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The secret's string, or one field of it read as a JSON object. */
function fieldOf(secretId: string, raw: string, field: string | undefined): string {
  if (field === undefined) return raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // The parser's message would quote the secret.
    throw new GatewayError(
      'ERR_SECRET_NOT_FOUND',
      `secret "${secretId}" is not JSON, so it has no field "${field}"`,
    );
  }
  // Only an object's own members are fields: not a string's characters, an array's items or `constructor`.
  const value = isJsonObject(parsed) && Object.hasOwn(parsed, field) ? parsed[field] : undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new GatewayError('ERR_SECRET_NOT_FOUND', `secret "${secretId}" has no string field "${field}"`);
  }
  return value;
}
