import { readFile } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  awsClientSettings,
  DYNAMODB_CALL_LIMITS,
  KMS_CALL_LIMITS,
  SECRETS_MANAGER_CALL_LIMITS,
} from './aws/call-limits.ts';
import { type AwsClientWithConfig, checkAwsAccess } from './aws/preflight.ts';
import { TokenBroker } from './broker.ts';
import { DynamoDbTokenStore } from './cache/dynamodb-token-store.ts';
import {
  type DataKeyProvider,
  EnvelopeCipher,
  KmsDataKeyProvider,
  LocalDataKeyProvider,
} from './cache/envelope-cipher.ts';
import { MemoryTokenStore } from './cache/memory-token-store.ts';
import { TokenCache } from './cache/token-cache.ts';
import { type LoadConfigOptions, loadConfigFile, secretReferences } from './config/load-config.ts';
import type { CacheConfig, GatewayConfig, SigningKeyConfig } from './config/schema.ts';
import { toApiError } from './http/api-errors.ts';
import { TokenExchanger } from './oauth/token-exchanger.ts';
import { describeError, logger } from './observability/logger.ts';
import { type GatewayMetrics, powertoolsMetrics } from './observability/metrics.ts';
import type { AuditLog } from './policy/audit.ts';
import { CallerPolicy } from './policy/caller-policy.ts';
import { GrantRequestResolver } from './policy/grant-request.ts';
import { IdentityProof } from './policy/identity-proof.ts';
import { ApiProxy } from './proxy/api-proxy.ts';
import type { UpstreamTransport } from './proxy/upstream-client.ts';
import { dependencyChecks } from './readiness/checks.ts';
import { ReadinessProbe } from './readiness/probe.ts';
import { SecretResolver } from './secrets/resolve-secret.ts';
import type { SecretStore } from './secrets/secret-store.ts';
import { SecretsManagerStore } from './secrets/secrets-manager-store.ts';
import { SigningKeyRing } from './signing/key-ring.ts';
import { KmsSigner } from './signing/kms-signer.ts';
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

export interface Gateway {
  readonly config: GatewayConfig;
  readonly keyRing: SigningKeyRing;
  readonly exchanger: TokenExchanger;
  readonly cache: TokenCache;
  readonly broker: TokenBroker;
  /** Who is calling (the readiness route is for known callers only). */
  readonly policy: CallerPolicy;
  /** GET /v1/ready: every dependency of the token function, checked by real calls, cached briefly. */
  readonly readiness: ReadinessProbe;
  /** The RFC 6749 facade's grant handling (password, client_credentials, token exchange). */
  readonly grants: GrantRequestResolver;
  /** Proxy mode (/v1/call): the broker's tokens attached to calls to the targets' APIs. */
  readonly proxy: ApiProxy;
  /**
   * Resolves the region and credentials of the AWS clients this configuration needs (none for a config
   * without KMS keys, Secrets Manager references or DynamoDB); rejects with ERR_AWS_UNCONFIGURED.
   */
  readonly checkAws: () => Promise<void>;
}

/** DynamoDB must never slow a request much: short timeouts, one retry, then the cache degrades. */
const DYNAMODB_CLIENT = awsClientSettings(DYNAMODB_CALL_LIMITS, 2);

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
export const loggerAudit: AuditLog = {
  record: (event) => logger.info('token request audit', { audit: event }),
};

/** The composition root: the only place that turns configuration into adapters. */
export function createGateway(config: GatewayConfig, deps: GatewayDependencies = {}): Gateway {
  const metrics = deps.metrics ?? powertoolsMetrics;
  const awsClients: Array<{ service: string; client: AwsClientWithConfig }> = [];
  let kms: KMSClient | undefined;
  const kmsClient = (): KMSClient => {
    if (!kms) {
      kms = deps.aws?.kms ?? new KMSClient(awsClientSettings(KMS_CALL_LIMITS));
      awsClients.push({ service: 'KMS', client: kms });
    }
    return kms;
  };
  // Certificates held as secrets are read when a key is first described, after `secrets` exists.
  const certificateSecrets: SecretStore = { resolve: (reference) => secrets.resolve(reference) };
  const keyRing = new SigningKeyRing(
    Object.entries(config.signingKeys).map(([id, key]) => ({
      signer: timed(createSigner(id, key, kmsClient, certificateSecrets), metrics),
      retired: key.retired,
    })),
  );
  const needsSecretsManager = secretReferences(config).some(({ reference }) => reference.secretsManager);
  const secretsManagerClient = needsSecretsManager
    ? (deps.aws?.secretsManager ?? new SecretsManagerClient(awsClientSettings(SECRETS_MANAGER_CALL_LIMITS)))
    : undefined;
  if (secretsManagerClient) awsClients.push({ service: 'Secrets Manager', client: secretsManagerClient });
  const secretsManager = secretsManagerClient
    ? new SecretsManagerStore(secretsManagerClient, {
        ttlSeconds: config.secrets.cacheTtlSeconds,
        onStale: (secretId, error) =>
          logger.warn('Secrets Manager unavailable: using the last value read', {
            secretId,
            ...describeError(error),
          }),
      })
    : undefined;
  const secrets = new SecretResolver({ secretsManager, env: deps.env ?? process.env });
  const exchanger = new TokenExchanger({ config, keyRing, secrets, fetch: deps.fetch });
  const table = config.cache.dynamodb;
  const dynamodb = table ? (deps.aws?.dynamodb ?? new DynamoDBClient(DYNAMODB_CLIENT)) : undefined;
  if (dynamodb) awsClients.push({ service: 'DynamoDB', client: dynamodb });
  const cache = createCache(config.cache, exchanger, kmsClient, metrics, dynamodb);
  const policy = new CallerPolicy(config, secrets, {
    onApiKeyError: (caller, error) =>
      logger.error('an API key or client secret hash could not be read: that credential is refused', {
        caller,
        ...describeError(error),
      }),
  });
  const readiness = new ReadinessProbe(
    dependencyChecks({
      config,
      kms: kmsClient,
      keyRing,
      secrets,
      exchanger,
      table: table && dynamodb ? { client: dynamodb, tableName: table.tableName } : undefined,
    }),
  );
  const classify = (error: unknown) => toApiError(error).code;
  const audit = deps.audit ?? loggerAudit;
  const broker = new TokenBroker({ policy, cache, classify, audit, metrics });
  // One verifier (one JWKS cache) per caller, whether its identity tokens reach the facade or /v1/call.
  const identities = new IdentityProof(config, secrets, { fetch: deps.fetch });
  const proxy = new ApiProxy({
    config,
    policy,
    identities,
    broker,
    audit,
    metrics,
    classify,
    transport: deps.upstream,
  });
  const grants = new GrantRequestResolver(config, secrets, identities);
  const checkAws = () => checkAwsAccess(awsClients);
  return { config, keyRing, exchanger, cache, broker, proxy, grants, checkAws, policy, readiness };
}

function createCache(
  config: CacheConfig,
  exchanger: TokenExchanger,
  kms: () => KMSClient,
  metrics: GatewayMetrics,
  dynamodb: DynamoDBClient | undefined,
): TokenCache {
  const table = config.dynamodb;
  let shared: DynamoDbTokenStore | undefined;
  if (table) {
    const encryption = table.encryption;
    const keys: DataKeyProvider =
      'kmsKeyId' in encryption
        ? new KmsDataKeyProvider(kms(), encryption.kmsKeyId)
        : new LocalDataKeyProvider(async () =>
            Buffer.from((await readFile(encryption.localKeyFile, 'utf8')).trim(), 'base64'),
          );
    const cipher = new EnvelopeCipher(keys, {
      rotateAfterMs: table.dataKeyRotationSeconds * 1000,
      maxCachedKeys: 64,
    });
    shared = new DynamoDbTokenStore(dynamodb ?? new DynamoDBClient(DYNAMODB_CLIENT), cipher, {
      tableName: table.tableName,
    });
  }
  return new TokenCache({
    exchanger,
    local: new MemoryTokenStore(config.maxEntries),
    shared,
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

/** The Signer for one configured key (KMS or local); also used by the operator CLI for certificates. */
export function createSigner(
  id: string,
  key: SigningKeyConfig,
  kms: () => KMSClient,
  secrets?: SecretStore,
): Signer {
  const reference = key.certificate;
  const certificate =
    reference && secrets
      ? { label: `signingKeys.${id}.certificate`, load: () => secrets.resolve(reference) }
      : undefined;
  const describe = { kid: key.kid, certificateFile: key.certificateFile, certificate };
  return key.type === 'kms'
    ? new KmsSigner(kms(), { id, keyId: key.keyId, algorithm: key.algorithm, ...describe })
    : new LocalSigner({ id, path: key.path, generate: key.generate, algorithm: key.algorithm, ...describe });
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
 * the function), its `${env:NAME}` placeholders filled from the environment. Loaded once; the Lambda
 * entry points await it during init, so an invalid configuration fails the cold start with one clear log
 * line (and any request that still reaches a handler answers `gateway_misconfigured`).
 */
export function gatewayFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  options: LoadConfigOptions = {},
): GatewayProvider {
  let gateway: Promise<Gateway> | undefined;
  return () => {
    gateway ??= (async () => {
      const path = env.GATEWAY_CONFIG ?? 'gateway.yaml';
      try {
        const { config, warnings } = await loadConfigFile(path, env, options);
        for (const warning of warnings) logger.warn(warning);
        const gateway = createGateway(config, { env });
        await gateway.checkAws();
        return gateway;
      } catch (error) {
        // One line that says what to fix: the configuration, or the AWS region or credentials it needs.
        const aws = (error as { code?: unknown }).code === 'ERR_AWS_UNCONFIGURED';
        logger.error(
          aws
            ? 'gateway cannot use AWS: set its region and credentials'
            : 'gateway configuration invalid: fix it and redeploy',
          describeError(error),
        );
        throw error;
      }
    })();
    return gateway;
  };
}
