import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { GatewayConfig, SigningKeyConfig } from './config/schema.ts';
import { TokenExchanger } from './oauth/token-exchanger.ts';
import { SecretResolver } from './secrets/resolve-secret.ts';
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
}

/** Timeouts for AWS calls: a Lambda must not hang on a stuck connection. */
const AWS_REQUEST_HANDLER = { connectionTimeout: 1_000, requestTimeout: 3_000 };

export interface Gateway {
  readonly config: GatewayConfig;
  readonly keyRing: SigningKeyRing;
  readonly exchanger: TokenExchanger;
}

export interface GatewayDependencies {
  readonly aws?: AwsClients;
  /** Token endpoint transport; the global fetch by default. */
  readonly fetch?: typeof fetch;
  readonly env?: NodeJS.ProcessEnv;
}

/** The composition root: the only place that turns configuration into adapters. */
export function createGateway(config: GatewayConfig, deps: GatewayDependencies = {}): Gateway {
  let kms = deps.aws?.kms;
  const kmsClient = (): KMSClient => {
    kms ??= new KMSClient({ requestHandler: AWS_REQUEST_HANDLER });
    return kms;
  };
  const keyRing = new SigningKeyRing(
    Object.entries(config.signingKeys).map(([id, key]) => ({
      signer: createSigner(id, key, kmsClient),
      retired: key.retired,
    })),
  );
  const needsSecretsManager = JSON.stringify(config.targets).includes('"secretsManager"');
  const secretsManager = needsSecretsManager
    ? new SecretsManagerStore(
        deps.aws?.secretsManager ?? new SecretsManagerClient({ requestHandler: AWS_REQUEST_HANDLER }),
        { ttlSeconds: config.secrets.cacheTtlSeconds },
      )
    : undefined;
  const secrets = new SecretResolver({ secretsManager, env: deps.env ?? process.env });
  const exchanger = new TokenExchanger({ config, keyRing, secrets, fetch: deps.fetch });
  return { config, keyRing, exchanger };
}

function createSigner(id: string, key: SigningKeyConfig, kms: () => KMSClient): Signer {
  const describe = { kid: key.kid, certificateFile: key.certificateFile };
  return key.type === 'kms'
    ? new KmsSigner(kms(), { id, keyId: key.keyId, algorithm: key.algorithm, ...describe })
    : new LocalSigner({ id, path: key.path, generate: key.generate, algorithm: key.algorithm, ...describe });
}
