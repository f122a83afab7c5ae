import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { awsErrorName, awsFailureKind } from '../aws/aws-errors.ts';
import { type AwsCallLimits, awsCallOptions, DYNAMODB_CALL_LIMITS } from '../aws/call-limits.ts';
import { GatewayError, isGatewayError } from '../errors.ts';
import type { CachedToken, CacheEntry } from './cache-entry.ts';
import { tokenHash } from './cache-key.ts';
import type { EnvelopeCipher } from './envelope-cipher.ts';
import { TOKEN_TABLE } from './table.ts';
import { acquireTableLease, releaseTableLease } from './table-lease.ts';
import type { TokenStore } from './token-store.ts';

export interface DynamoDbTokenStoreOptions {
  readonly tableName: string;
  readonly now?: () => number;
  /** Items linger this long after expiry before TTL may delete them. */
  readonly ttlGraceSeconds?: number;
  /** Bounds on each DynamoDB call (the request's deadline bounds it too). */
  readonly callLimits?: AwsCallLimits;
}

const PK = TOKEN_TABLE.partitionKey;
const LEASE_PREFIX = 'lease#';

/** The secret parts of a token, sealed with AES-256-GCM; nothing else of them is stored in clear. */
interface SealedPayload {
  readonly accessToken: string;
  readonly refreshToken?: string | undefined;
  readonly tokenType: string;
  readonly scope: string;
  readonly expiresAt: number;
  readonly obtainedAt: number;
}

/**
 * The shared layer, in DynamoDB. Tokens are stored only encrypted (envelope: the data key is wrapped by
 * KMS and stored with the item; the cache key is the AAD). An item that fails to decrypt, say because it
 * was copied under another key, reads as a miss. Expiry is checked on read; TTL only cleans up.
 */
export class DynamoDbTokenStore implements TokenStore {
  private readonly now: () => number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly cipher: EnvelopeCipher,
    private readonly options: DynamoDbTokenStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const output = await this.call('GetItem', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.options.tableName,
          Key: { [PK]: { S: key } },
          ConsistentRead: true,
        }),
        this.callOptions(),
      ),
    );
    const item = output.Item;
    const expiresAt = Number(item?.exp?.N);
    if (!item || !(expiresAt > this.now())) return undefined;
    if (item.kind?.S === 'refusal') {
      return {
        kind: 'refusal',
        error: item.err?.S ?? 'invalid_grant',
        errorDescription: item.desc?.S,
        status: Number(item.status?.N ?? 400),
        expiresAt,
      };
    }
    if (item.kind?.S !== 'token' || !item.ct?.B || !item.wk?.B) return undefined;
    let payload: SealedPayload;
    try {
      const plaintext = await this.cipher.open({ ciphertext: item.ct.B, wrappedKey: item.wk.B }, key);
      payload = JSON.parse(Buffer.from(plaintext).toString('utf8')) as SealedPayload;
    } catch (error) {
      // KMS could not unwrap the key: an outage, reported as one (the cache degrades and says so).
      if (isGatewayError(error)) throw error;
      // Tampered or swapped: never served, treated as a miss.
      return undefined;
    }
    return { kind: 'token', ...payload } satisfies CachedToken;
  }

  async put(key: string, entry: CacheEntry): Promise<void> {
    const common = {
      [PK]: { S: key },
      exp: { N: String(entry.expiresAt) },
      [TOKEN_TABLE.ttlAttribute]: { N: String(this.ttlFor(entry.expiresAt)) },
    };
    let item: Record<string, { S: string } | { N: string } | { B: Uint8Array }>;
    if (entry.kind === 'refusal') {
      item = {
        ...common,
        kind: { S: 'refusal' },
        err: { S: entry.error },
        status: { N: String(entry.status) },
        ...(entry.errorDescription ? { desc: { S: entry.errorDescription.slice(0, 512) } } : {}),
      };
    } else {
      const payload: SealedPayload = {
        accessToken: entry.accessToken,
        refreshToken: entry.refreshToken,
        tokenType: entry.tokenType,
        scope: entry.scope,
        expiresAt: entry.expiresAt,
        obtainedAt: entry.obtainedAt,
      };
      let sealed: Awaited<ReturnType<EnvelopeCipher['seal']>>;
      try {
        sealed = await this.cipher.seal(Buffer.from(JSON.stringify(payload)), key);
      } catch (cause) {
        throw new GatewayError('ERR_CACHE_UNAVAILABLE', 'cannot encrypt the cache entry (data key)', {
          cause,
        });
      }
      item = {
        ...common,
        kind: { S: 'token' },
        ct: { B: sealed.ciphertext },
        wk: { B: sealed.wrappedKey },
        th: { S: tokenHash(entry.accessToken) },
      };
    }
    await this.call('PutItem', () =>
      this.client.send(
        new PutItemCommand({ TableName: this.options.tableName, Item: item }),
        this.callOptions(),
      ),
    );
  }

  async delete(key: string, onlyIfAccessTokenHash?: string): Promise<boolean> {
    try {
      const output = await this.client.send(
        new DeleteItemCommand({
          TableName: this.options.tableName,
          Key: { [PK]: { S: key } },
          ReturnValues: 'ALL_OLD',
          ...(onlyIfAccessTokenHash !== undefined
            ? {
                ConditionExpression: 'th = :th',
                ExpressionAttributeValues: { ':th': { S: onlyIfAccessTokenHash } },
              }
            : {}),
        }),
        this.callOptions(),
      );
      return output.Attributes !== undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw unavailable('DeleteItem', error);
    }
  }

  /** A conditional put: succeeds when there is no lease, or only an expired one. */
  async acquireLease(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const lease = { tableName: this.options.tableName, pk: LEASE_PREFIX + key, holder };
    const until = now + ttlMs;
    return this.call('PutItem (lease)', () =>
      acquireTableLease(
        this.client,
        { ...lease, until, ttlSeconds: this.ttlFor(until), now },
        this.callOptions(),
      ),
    );
  }

  async releaseLease(key: string, holder: string): Promise<void> {
    const lease = { tableName: this.options.tableName, pk: LEASE_PREFIX + key, holder };
    await this.call('DeleteItem (lease)', () => releaseTableLease(this.client, lease, this.callOptions()));
  }

  private ttlFor(expiresAtMs: number): number {
    return Math.ceil(expiresAtMs / 1000) + (this.options.ttlGraceSeconds ?? 3600);
  }

  /** Every DynamoDB call is bounded by the call limits and the request's deadline. */
  private callOptions() {
    return awsCallOptions(this.options.callLimits ?? DYNAMODB_CALL_LIMITS);
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw unavailable(operation, error);
    }
  }
}

/**
 * Every DynamoDB failure degrades the cache (the request goes on without the shared layer); the shared
 * AWS policy says whether it is an outage or something an operator must fix, so the log says which.
 */
function unavailable(operation: string, cause: unknown): GatewayError {
  const kind = awsFailureKind(cause);
  const code = kind === 'configuration' ? 'ERR_AWS_UNCONFIGURED' : 'ERR_CACHE_UNAVAILABLE';
  const what = kind === 'refused' ? 'was refused' : 'failed';
  return new GatewayError(code, `DynamoDB ${operation} ${what} (${awsErrorName(cause)})`, { cause });
}
