import { Admission } from './admission/admission.ts';
import { type Audited, auditedRequests } from './audited.ts';
import { AwsAdapters, type AwsClients } from './aws-adapters.ts';
import { TokenBroker } from './broker.ts';
import { MemoryTokenStore } from './cache/memory-token-store.ts';
import { TokenCache } from './cache/token-cache.ts';
import { deployedAuthorizerCredentialFields } from './config/credential-fields.ts';
import type { CacheConfig, GatewayConfig } from './config/schema.ts';
import { secretReferences } from './config/secret-references.ts';
import { GrantRequestResolver } from './facade/grant-request.ts';
import { fromEnvironment, type LoadOptions } from './from-environment.ts';
import { toApiError } from './http/api-errors.ts';
import { signingKeyRing } from './key-ring-composition.ts';
import { TokenExchanger } from './oauth/token-exchanger.ts';
import { describeError, logger } from './observability/logger.ts';
import { type GatewayMetrics, powertoolsMetrics } from './observability/metrics.ts';
import type { AuditLog } from './policy/audit.ts';
import { CallerPolicy } from './policy/caller-policy.ts';
import { IdentityProof } from './policy/identity-proof.ts';
import { ApiProxy } from './proxy/api-proxy.ts';
import type { UpstreamTransport } from './proxy/upstream-client.ts';
import { dependencyChecks } from './readiness/checks.ts';
import { ReadinessProbe } from './readiness/probe.ts';
import { SecretResolver } from './secrets/resolve-secret.ts';
import type { SecretStore } from './secrets/secret-store.ts';
import type { SigningKeyRing } from './signing/key-ring.ts';

export type { AwsClients } from './aws-adapters.ts';
export { createSigner } from './key-ring-composition.ts';

export interface Gateway {
  readonly config: GatewayConfig;
  readonly keyRing: SigningKeyRing;
  readonly exchanger: TokenExchanger;
  readonly cache: TokenCache;
  /** Rate, concurrency and back-off per target and per KMS key (GET /v1/ready reports it). */
  readonly admission: Admission;
  /**
   * Runs one request of a token route or proxy mode under its deadline and audit facts, and writes its
   * one audit event (lib/audited.ts).
   */
  readonly audited: Audited;
  readonly broker: TokenBroker;
  /** Who is calling, and the one policy decision per request. */
  readonly policy: CallerPolicy;
  /** GET /v1/ready: every dependency of the token function, checked by real calls, cached briefly. */
  readonly readiness: ReadinessProbe;
  /** The RFC 6749 facade's grant handling (password, client_credentials, token exchange). */
  readonly grants: GrantRequestResolver;
  /** Proxy mode (/v1/call): the broker's tokens attached to calls to the targets' APIs. */
  readonly proxy: ApiProxy;
  /**
   * Loads the AWS adapters this configuration uses (none for a config without KMS keys, Secrets Manager
   * references or DynamoDB) and resolves their clients' region and credentials; rejects with
   * ERR_AWS_UNCONFIGURED. The Lambda init awaits it, so no request waits for a module or finds AWS unusable.
   */
  readonly checkAws: () => Promise<void>;
}

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
  const adapters = new AwsAdapters(deps.aws);
  const table = config.cache.dynamodb;
  const admission = new Admission({
    shared: table ? adapters.dynamoDbAdmissionStore(table) : undefined,
    fallbackInstances: config.admission.fallbackInstances,
    observer: {
      degraded: (operation, error) => {
        metrics.cacheDegraded(operation);
        logger.warn('admission degraded: this instance admits its share of each limit alone', {
          operation,
          ...describeError(error),
        });
      },
      outcome: (lane, outcome) => metrics.admission(lane, outcome),
    },
  });
  // Certificates held as secrets are read when a key is first described, after `secrets` exists.
  const certificateSecrets: SecretStore = { resolve: (reference) => secrets.resolve(reference) };
  const keyRing = signingKeyRing(config, adapters, metrics, certificateSecrets, admission);
  const needsSecretsManager = secretReferences(config).some(({ reference }) => reference.secretsManager);
  const secretsManager = needsSecretsManager ? adapters.secretsManagerStore(config) : undefined;
  const secrets = new SecretResolver({ secretsManager, env: deps.env ?? process.env });
  const exchanger = new TokenExchanger({
    config,
    keyRing,
    secrets,
    fetch: deps.fetch,
    admission,
    onThrottled: () => metrics.authorizationServerThrottled(),
  });
  const cache = createCache(config.cache, exchanger, adapters, metrics);
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
      kms: () => adapters.kmsClient(),
      keyRing,
      secrets,
      exchanger,
      table: table ? { client: adapters.dynamoDbClient(), tableName: table.tableName } : undefined,
    }),
  );
  const classify = (error: unknown) => toApiError(error).code;
  const audit = deps.audit ?? loggerAudit;
  const audited = auditedRequests({ audit, metrics, classify });
  const broker = new TokenBroker({ policy, cache, metrics });
  // One verifier (one JWKS cache) per caller, whether its identity tokens reach the facade or /v1/call.
  const identities = new IdentityProof(config, secrets, { fetch: deps.fetch });
  const proxy = new ApiProxy({
    config,
    policy,
    identities,
    broker,
    metrics,
    classify,
    transport: deps.upstream,
    authorizerCredentials: deployedAuthorizerCredentialFields(deps.env ?? process.env),
  });
  const grants = new GrantRequestResolver(config, secrets, identities);
  const checkAws = () => adapters.checkAws();
  return {
    config,
    keyRing,
    exchanger,
    cache,
    admission,
    audited,
    broker,
    proxy,
    grants,
    checkAws,
    policy,
    readiness,
  };
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

export type GatewayProvider = () => Promise<Gateway>;

/** The gateway of this container, for functions/token.ts: see lib/from-environment.ts. */
export function gatewayFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): GatewayProvider {
  return fromEnvironment(env, (config) => createGateway(config, { env }), options);
}
