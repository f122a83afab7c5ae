import { readFile } from 'node:fs/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TokenBroker } from './broker.ts';
import { MemoryTokenStore } from './cache/memory-token-store.ts';
import { TokenCache } from './cache/token-cache.ts';
import type { TokenStore } from './cache/token-store.ts';
import type { LoadedConfig } from './config/config-error.ts';
import { readConfigFile } from './config/config-file.ts';
import type { CacheConfig, GatewayConfig, SigningKeyConfig } from './config/schema.ts';
import { secretReferences } from './config/secret-references.ts';
import { toApiError } from './http/api-errors.ts';
import { lazyAdapter } from './lazy-adapter.ts';
import { TokenExchanger } from './oauth/token-exchanger.ts';
import { describeError, logger } from './observability/logger.ts';
import { type GatewayMetrics, powertoolsMetrics } from './observability/metrics.ts';
import type { AuditLog } from './policy/audit.ts';
import { CallerPolicy } from './policy/caller-policy.ts';
import { ApiProxy } from './proxy/api-proxy.ts';
import type { UpstreamTransport } from './proxy/upstream-client.ts';
import { SecretResolver } from './secrets/resolve-secret.ts';
import type { SecretsManagerStore } from './secrets/secrets-manager-store.ts';
import { SigningKeyRing } from './signing/key-ring.ts';
import { LocalSigner } from './signing/local-signer.ts';
import type { Signer } from './signing/signer.ts';

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

/** Timeouts for AWS calls: a Lambda must not hang on a stuck connection. */
// throwOnRequestTimeout: without it the SDK only logs a warning when requestTimeout passes.
const AWS_REQUEST_HANDLER = { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true };

export interface Gateway {
  readonly config: GatewayConfig;
  readonly keyRing: SigningKeyRing;
  readonly exchanger: TokenExchanger;
  readonly cache: TokenCache;
  readonly broker: TokenBroker;
  /** Proxy mode (/v1/call): the broker's tokens attached to calls to the targets' APIs. */
  readonly proxy: ApiProxy;
  /** Loads the adapters this configuration uses (KMS, DynamoDB, Secrets Manager): the Lambda init awaits it. */
  readonly preload: () => Promise<void>;
}

/** DynamoDB must never slow a request much: short timeouts, one retry, then the cache degrades. */
const DYNAMODB_CLIENT = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 500, requestTimeout: 1_000, throwOnRequestTimeout: true },
};

export interface GatewayDependencies {
  readonly aws?: AwsClients;
  /** Token endpoint transport; the global fetch by default. */
  readonly fetch?: typeof fetch;
  readonly env?: NodeJS.ProcessEnv;
  readonly metrics?: GatewayMetrics;
  readonly audit?: AuditLog;
  /** How proxied APIs are called; node:http(s) by default. */
  readonly upstream?: UpstreamTransport;
}

/** Audit events go to the JSON log, one line each, under a fixed message for log queries. */
const loggerAudit: AuditLog = {
  record: (event) => logger.info('token request audit', { audit: event }),
};

/** The composition root: the only place that turns configuration into adapters. */
export function createGateway(config: GatewayConfig, deps: GatewayDependencies = {}): Gateway {
  const metrics = deps.metrics ?? powertoolsMetrics;
  const adapters = new AwsAdapters(deps.aws);
  const keyRing = signingKeyRing(config, adapters, metrics);
  const needsSecretsManager = secretReferences(config).some(({ reference }) => reference.secretsManager);
  const secretsManager = needsSecretsManager ? adapters.secretsManagerStore(config) : undefined;
  const secrets = new SecretResolver({ secretsManager, env: deps.env ?? process.env });
  const exchanger = new TokenExchanger({ config, keyRing, secrets, fetch: deps.fetch });
  const cache = createCache(config.cache, exchanger, adapters, metrics);
  const policy = new CallerPolicy(config, secrets, {
    onApiKeyError: (caller, error) =>
      logger.error('an API key hash could not be read: that key is refused', {
        caller,
        ...describeError(error),
      }),
  });
  const classify = (error: unknown) => toApiError(error).code;
  const audit = deps.audit ?? loggerAudit;
  const broker = new TokenBroker({ policy, cache, classify, audit, metrics });
  const proxy = new ApiProxy({ config, policy, broker, audit, metrics, classify, transport: deps.upstream });
  return { config, keyRing, exchanger, cache, broker, proxy, preload: () => adapters.preload() };
}

/**
 * The AWS adapters, each imported (with its SDK client) on first use: see lib/lazy-adapter.ts. One KMS
 * client serves the signers and the cache's data keys. AWS clients are built with the SDK's own
 * configuration chain, unless injected.
 */
class AwsAdapters {
  readonly #loads: Array<() => Promise<unknown>> = [];
  readonly #aws: AwsClients;
  #kms?: KMSClient;

  constructor(aws: AwsClients = {}) {
    this.#aws = aws;
  }

  /** Loads every adapter handed out so far. */
  async preload(): Promise<void> {
    await Promise.all(this.#loads.map((load) => load()));
  }

  kmsSigner(id: string, key: Extract<SigningKeyConfig, { type: 'kms' }>): Signer {
    const describe = { kid: key.kid, certificateFile: key.certificateFile };
    const kms = this.#kmsClient();
    return this.#lazy(
      async () => {
        const { KmsSigner } = await import('./signing/kms-signer.ts');
        return new KmsSigner(kms, { id, keyId: key.keyId, algorithm: key.algorithm, ...describe });
      },
      { describe: true, sign: true },
      { id },
    );
  }

  secretsManagerStore(config: GatewayConfig): Pick<SecretsManagerStore, 'get'> {
    const injected = this.#aws.secretsManager;
    return this.#lazy(
      async () => {
        const { SecretsManagerStore } = await import('./secrets/secrets-manager-store.ts');
        const client =
          injected ??
          new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient({
            requestHandler: AWS_REQUEST_HANDLER,
          });
        return new SecretsManagerStore(client, {
          ttlSeconds: config.secrets.cacheTtlSeconds,
          onStale: (secretId, error) =>
            logger.warn('Secrets Manager unavailable: using the last value read', {
              secretId,
              ...describeError(error),
            }),
        });
      },
      { get: true },
      {},
    );
  }

  /** The shared cache layer: the DynamoDB store with envelope encryption (a KMS or a local key). */
  dynamoDbTokenStore(table: NonNullable<CacheConfig['dynamodb']>): TokenStore {
    const encryption = table.encryption;
    const kms = 'kmsKeyId' in encryption ? this.#kmsClient() : undefined;
    const injected = this.#aws.dynamodb;
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
        const client =
          injected ?? new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient(DYNAMODB_CLIENT);
        return new DynamoDbTokenStore(client, cipher, { tableName: table.tableName });
      },
      { get: true, put: true, delete: true, acquireLease: true, releaseLease: true },
      {},
    );
  }

  #kmsClient(): KMSClient {
    this.#kms ??=
      this.#aws.kms ??
      this.#lazy(
        async () =>
          new (await import('@aws-sdk/client-kms')).KMSClient({ requestHandler: AWS_REQUEST_HANDLER }),
        { send: true },
        {} as Omit<KMSClient, 'send'>,
      );
    return this.#kms;
  }

  #lazy<Port>(...args: Parameters<typeof lazyAdapter<Port>>): Port {
    const { port, load } = lazyAdapter(...args);
    this.#loads.push(load);
    return port;
  }
}

function createCache(
  config: CacheConfig,
  exchanger: TokenExchanger,
  adapters: AwsAdapters,
  metrics: GatewayMetrics,
): TokenCache {
  return new TokenCache({
    exchanger,
    local: new MemoryTokenStore(config.maxEntries),
    shared: config.dynamodb ? adapters.dynamoDbTokenStore(config.dynamodb) : undefined,
    settings: config,
    observer: {
      degraded: (operation, error) => {
        metrics.cacheDegraded(operation);
        logger.warn('token cache degraded: continuing without the shared layer', {
          operation,
          ...describeError(error),
        });
      },
      servedStale: (error) =>
        logger.warn('token refresh failed: served the cached token', describeError(error)),
    },
  });
}

/**
 * The signing keys alone: what functions/jwks.ts builds (no exchanger, cache or caller policy, so its
 * bundle holds none of them).
 */
function createKeyRing(
  config: GatewayConfig,
  deps: Pick<GatewayDependencies, 'aws' | 'metrics'> = {},
): { readonly keyRing: SigningKeyRing; readonly preload: () => Promise<void> } {
  const adapters = new AwsAdapters(deps.aws);
  const keyRing = signingKeyRing(config, adapters, deps.metrics ?? powertoolsMetrics);
  return { keyRing, preload: () => adapters.preload() };
}

function signingKeyRing(
  config: GatewayConfig,
  adapters: AwsAdapters,
  metrics: GatewayMetrics,
): SigningKeyRing {
  return new SigningKeyRing(
    Object.entries(config.signingKeys).map(([id, key]) => ({
      signer: timed(
        key.type === 'kms'
          ? adapters.kmsSigner(id, key)
          : new LocalSigner({
              id,
              path: key.path,
              generate: key.generate,
              algorithm: key.algorithm,
              kid: key.kid,
              certificateFile: key.certificateFile,
            }),
        metrics,
      ),
      retired: key.retired,
    })),
  );
}

/** Reports how long each signature took (KMS latency, for the KMS adapter). */
function timed(signer: Signer, metrics: GatewayMetrics): Signer {
  return {
    id: signer.id,
    describe: () => signer.describe(),
    sign: async (input) => {
      const started = performance.now();
      try {
        return await signer.sign(input);
      } finally {
        metrics.signingLatency(performance.now() - started);
      }
    },
  };
}

export type GatewayProvider = () => Promise<Gateway>;

/**
 * The gateway of this container, from the file named by `GATEWAY_CONFIG` (default `gateway.yaml` beside
 * the function; the build ships `gateway.json`), its `${env:NAME}` placeholders filled from the
 * environment. Loaded once; the Lambda entry points await it during init, so an invalid configuration
 * fails the cold start with one clear log line (and any request that still reaches a handler answers
 * `gateway_misconfigured`).
 */
export function gatewayFromEnvironment(env: NodeJS.ProcessEnv = process.env): GatewayProvider {
  return fromEnvironment(env, (config) => createGateway(config, { env }));
}

/** The key ring of this container, as `gatewayFromEnvironment` loads the gateway: for functions/jwks.ts. */
export function keyRingFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): () => Promise<{ readonly keyRing: SigningKeyRing }> {
  return fromEnvironment(env, (config) => createKeyRing(config));
}

function fromEnvironment<T extends { preload: () => Promise<void> }>(
  env: NodeJS.ProcessEnv,
  build: (config: GatewayConfig) => T,
): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= (async () => {
      const path = env.GATEWAY_CONFIG ?? 'gateway.yaml';
      try {
        const { config, warnings }: LoadedConfig = await readConfigFile(path, env);
        for (const warning of warnings) logger.warn(warning);
        const built = build(config);
        // During the init, not the first request: the modules of the AWS adapters this configuration uses.
        await built.preload();
        return built;
      } catch (error) {
        logger.error('gateway configuration invalid: fix it and redeploy', describeError(error));
        throw error;
      }
    })();
    return loaded;
  };
}
