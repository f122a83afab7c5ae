import { readFile } from 'node:fs/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AdmissionStore } from './admission/admission-store.ts';
import {
  awsClientSettings,
  DYNAMODB_CALL_LIMITS,
  KMS_CALL_LIMITS,
  SECRETS_MANAGER_CALL_LIMITS,
} from './aws/call-limits.ts';
import type { AwsClientWithConfig } from './aws/preflight.ts';
import type { TokenStore } from './cache/token-store.ts';
import type { CacheConfig, GatewayConfig } from './config/schema.ts';
import { lazyAdapter } from './lazy-adapter.ts';
import { describeError, logger } from './observability/logger.ts';
import type { SecretsManagerStore } from './secrets/secrets-manager-store.ts';

/**
 * AWS clients are built with the SDK's own configuration chain, so region, credentials,
 * `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL_SECRETS_MANAGER` all apply. Tests and
 * embedders inject their own instead.
 */
export interface AwsClients {
  readonly kms?: KMSClient;
  readonly secretsManager?: SecretsManagerClient;
  readonly dynamodb?: DynamoDBClient;
}

/** DynamoDB must never slow a request much: short timeouts, one retry, then the cache degrades. */
const DYNAMODB_CLIENT = awsClientSettings(DYNAMODB_CALL_LIMITS, 2);

/**
 * The AWS adapters, each imported (with its SDK client) on first use: see lib/lazy-adapter.ts. One KMS
 * client serves the signers and the cache's data keys. AWS clients are built with the SDK's own
 * configuration chain, unless injected.
 */
export class AwsAdapters {
  readonly #loads: Array<() => Promise<unknown>> = [];
  /** The clients in use, injected or built, for the region and credentials check. */
  readonly #clients = new Map<AwsService, AwsClientWithConfig>();
  readonly #aws: AwsClients;
  #kms?: KMSClient;
  #dynamodb?: DynamoDBClient;

  constructor(aws: AwsClients = {}) {
    this.#aws = aws;
  }

  /** Loads every adapter handed out so far, then checks their clients (lib/aws/preflight.ts). */
  async checkAws(): Promise<void> {
    await Promise.all(this.#loads.map((load) => load()));
    const clients = AWS_SERVICES.flatMap((service) => {
      const client = this.#clients.get(service);
      return client ? [{ service, client }] : [];
    });
    if (clients.length === 0) return;
    // With the clients: the check reads AWS errors through @smithy/core, which a local key never loads.
    const { checkAwsAccess } = await import('./aws/preflight.ts');
    await checkAwsAccess(clients);
  }

  secretsManagerStore(config: GatewayConfig): Pick<SecretsManagerStore, 'get' | 'check'> {
    const injected = this.#aws.secretsManager;
    return this.#lazy(
      async () => {
        const { SecretsManagerStore } = await import('./secrets/secrets-manager-store.ts');
        const client = this.#use(
          'Secrets Manager',
          injected ??
            new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient(
              awsClientSettings(SECRETS_MANAGER_CALL_LIMITS),
            ),
        );
        return new SecretsManagerStore(client, {
          ttlSeconds: config.secrets.cacheTtlSeconds,
          onStale: (secretId, error) =>
            logger.warn('Secrets Manager unavailable: using the last value read', {
              secretId,
              ...describeError(error),
            }),
        });
      },
      { get: true, check: true },
      {},
    );
  }

  /** The shared cache layer: the DynamoDB store with envelope encryption (a KMS or a local key). */
  dynamoDbTokenStore(table: NonNullable<CacheConfig['dynamodb']>): TokenStore {
    const encryption = table.encryption;
    const kms = 'kmsKeyId' in encryption ? this.kmsClient() : undefined;
    const client = this.dynamoDbClient();
    return this.#lazy(
      async () => {
        const [{ DynamoDbTokenStore }, { EnvelopeCipher, KmsDataKeyProvider, LocalDataKeyProvider }] =
          await Promise.all([
            import('./cache/dynamodb-token-store.ts'),
            import('./cache/envelope-cipher.ts'),
          ]);
        const keys =
          'kmsKeyId' in encryption
            ? new KmsDataKeyProvider(kms!, encryption.kmsKeyId)
            : new LocalDataKeyProvider(async () =>
                Buffer.from((await readFile(encryption.localKeyFile, 'utf8')).trim(), 'base64'),
              );
        const cipher = new EnvelopeCipher(keys, {
          rotateAfterMs: table.dataKeyRotationSeconds * 1000,
          maxCachedKeys: 64,
        });
        return new DynamoDbTokenStore(client, cipher, { tableName: table.tableName });
      },
      { get: true, put: true, delete: true, acquireLease: true, releaseLease: true },
      {},
    );
  }

  /** Admission state in the token table (lib/admission). */
  dynamoDbAdmissionStore(table: NonNullable<CacheConfig['dynamodb']>): AdmissionStore {
    const client = this.dynamoDbClient();
    return this.#lazy(
      async () => {
        const { DynamoDbAdmissionStore } = await import('./admission/dynamodb-admission-store.ts');
        return new DynamoDbAdmissionStore(client, { tableName: table.tableName });
      },
      {
        reserve: true,
        reserveIfIdle: true,
        state: true,
        openBackoff: true,
        acquireSlot: true,
        releaseSlot: true,
        getTurn: true,
        putTurn: true,
        takeTurn: true,
      },
      {},
    );
  }

  /** One KMS client for the signers, the cache's data keys and the readiness check. */
  kmsClient(): KMSClient {
    const injected = this.#aws.kms;
    this.#kms ??= injected
      ? this.#use('KMS', injected)
      : this.#lazy(
          async () =>
            this.#use(
              'KMS',
              new (await import('@aws-sdk/client-kms')).KMSClient(awsClientSettings(KMS_CALL_LIMITS)),
            ),
          { send: true },
          {} as Omit<KMSClient, 'send'>,
        );
    return this.#kms;
  }

  /** One DynamoDB client for the shared cache and the readiness check. */
  dynamoDbClient(): DynamoDBClient {
    const injected = this.#aws.dynamodb;
    this.#dynamodb ??= injected
      ? this.#use('DynamoDB', injected)
      : this.#lazy(
          async () =>
            this.#use(
              'DynamoDB',
              new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient(DYNAMODB_CLIENT),
            ),
          { send: true },
          {} as Omit<DynamoDBClient, 'send'>,
        );
    return this.#dynamodb;
  }

  /** Loads this with the others during the init (`checkAws`): a lazy adapter made elsewhere. */
  register(load: () => Promise<unknown>): void {
    this.#loads.push(load);
  }

  #use<Client extends AwsClientWithConfig>(service: AwsService, client: Client): Client {
    this.#clients.set(service, client);
    return client;
  }

  #lazy<Port>(...args: Parameters<typeof lazyAdapter<Port>>): Port {
    const { port, load } = lazyAdapter(...args);
    this.#loads.push(load);
    return port;
  }
}

/** In the order the region and credentials check names them. */
const AWS_SERVICES = ['KMS', 'Secrets Manager', 'DynamoDB'] as const;
type AwsService = (typeof AWS_SERVICES)[number];
