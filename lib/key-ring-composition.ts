import type { KMSClient } from '@aws-sdk/client-kms';
import type { Admission, LaneLimits } from './admission/admission.ts';
import { AwsAdapters, type AwsClients } from './aws-adapters.ts';
import type { GatewayConfig, SigningKeyConfig } from './config/schema.ts';
import { currentDeadline } from './deadline.ts';
import { GatewayError } from './errors.ts';
import { fromEnvironment } from './from-environment.ts';
import { lazyAdapter } from './lazy-adapter.ts';
import { type GatewayMetrics, powertoolsMetrics } from './observability/metrics.ts';
import { SecretResolver } from './secrets/resolve-secret.ts';
import type { SecretStore } from './secrets/secret-store.ts';
import { SigningKeyRing } from './signing/key-ring.ts';
import { LocalSigner } from './signing/local-signer.ts';
import type { Signer } from './signing/signer.ts';

// The composition of functions/jwks.ts: the signing keys alone, in a module of their own so that the jwks
// bundle holds no exchanger, cache, caller policy or token request (lib/composition.ts has the rest).

/**
 * The signing keys alone: what functions/jwks.ts builds (no exchanger, cache or caller policy, so its
 * bundle holds none of them), with the secrets its keys' certificates may be held in.
 */
function createKeyRing(
  config: GatewayConfig,
  deps: {
    readonly aws?: AwsClients;
    readonly metrics?: GatewayMetrics;
    readonly env?: NodeJS.ProcessEnv;
  } = {},
): { readonly keyRing: SigningKeyRing; readonly checkAws: () => Promise<void> } {
  const adapters = new AwsAdapters(deps.aws);
  const certificates = Object.values(config.signingKeys).flatMap((key) =>
    key.certificate ? [key.certificate] : [],
  );
  const secretsManager = certificates.some((reference) => reference.secretsManager)
    ? adapters.secretsManagerStore(config)
    : undefined;
  const secrets = new SecretResolver({ secretsManager, env: deps.env ?? process.env });
  const keyRing = signingKeyRing(config, adapters, deps.metrics ?? powertoolsMetrics, secrets);
  return { keyRing, checkAws: () => adapters.checkAws() };
}

export function signingKeyRing(
  config: GatewayConfig,
  adapters: AwsAdapters,
  metrics: GatewayMetrics,
  secrets: SecretStore,
  /** KMS Sign's rate per key and back-off on throttling; the jwks function, which never signs, has none. */
  admission?: Admission,
): SigningKeyRing {
  return new SigningKeyRing(
    Object.entries(config.signingKeys).map(([id, key]) => {
      const signer = timed(
        createSigner(id, key, () => adapters.kmsClient(), secrets, adapters),
        metrics,
      );
      return {
        signer: admission && key.type === 'kms' ? admitted(signer, admission, key.signsPerSecond) : signer,
        retired: key.retired,
      };
    }),
  );
}

/** How long KMS Sign rests after a ThrottlingException, for every instance: KMS sends no Retry-After. */
const KMS_THROTTLED_BACKOFF_MS = 2_000;

/**
 * KMS Sign within the key's rate (KMS quotas are per account and region, so shared by all instances):
 * a signature waits at most half a second for its turn, and a ThrottlingException opens a back-off in
 * which signatures are refused at once. Refusals are `ERR_SIGNING_UNAVAILABLE` with a Retry-After.
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html
 */
function admitted(signer: Signer, admission: Admission, signsPerSecond: number): Signer {
  const lane = `kms:${signer.id}`;
  const limits: LaneLimits = { requestsPerSecond: signsPerSecond, maxWaitMs: 500, queueMs: 0, graceMs: 0 };
  return {
    id: signer.id,
    describe: () => signer.describe(),
    sign: async (input) => {
      const permit = await admission.enter(lane, limits, {
        deadline: currentDeadline(),
        minimumMs: 100,
        refuse: (retryAfterSeconds, why) =>
          new GatewayError(
            'ERR_SIGNING_UNAVAILABLE',
            `KMS Sign with signing key "${signer.id}" not now (${why})`,
            {
              retryAfterSeconds,
            },
          ),
      });
      try {
        return await signer.sign(input);
      } catch (error) {
        if (!throttled(error)) throw error;
        await admission.openBackoff(lane, Date.now() + KMS_THROTTLED_BACKOFF_MS);
        throw new GatewayError(
          'ERR_SIGNING_UNAVAILABLE',
          `KMS throttled Sign with signing key "${signer.id}"`,
          {
            cause: error,
            retryAfterSeconds: KMS_THROTTLED_BACKOFF_MS / 1000,
          },
        );
      } finally {
        await permit.release();
      }
    },
  };
}

/** KMS said ThrottlingException (kms-signer.ts keeps the AWS error as the cause). */
function throttled(error: unknown): boolean {
  return (error as { cause?: { name?: unknown } } | undefined)?.cause?.name === 'ThrottlingException';
}

/**
 * The Signer for one configured key (KMS or local); also used by the operator CLI for certificates. The
 * KMS signer is imported on first use (lib/lazy-adapter.ts), or during the init when `adapters` loads it.
 */
export function createSigner(
  id: string,
  key: SigningKeyConfig,
  kms: () => KMSClient,
  secrets?: SecretStore,
  adapters?: Pick<AwsAdapters, 'register'>,
): Signer {
  const reference = key.certificate;
  const certificate =
    reference && secrets
      ? { label: `signingKeys.${id}.certificate`, load: () => secrets.resolve(reference) }
      : undefined;
  const describe = { kid: key.kid, certificateFile: key.certificateFile, certificate };
  if (key.type !== 'kms') {
    return new LocalSigner({
      id,
      path: key.path,
      generate: key.generate,
      algorithm: key.algorithm,
      ...describe,
    });
  }
  const client = kms();
  const { port, load } = lazyAdapter(
    async () => {
      const { KmsSigner } = await import('./signing/kms-signer.ts');
      return new KmsSigner(client, { id, keyId: key.keyId, algorithm: key.algorithm, ...describe });
    },
    { describe: true, sign: true },
    { id },
  );
  adapters?.register(load);
  return port;
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

/** The key ring of this container, as `gatewayFromEnvironment` loads the gateway: for functions/jwks.ts. */
export function keyRingFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): () => Promise<{ readonly keyRing: SigningKeyRing }> {
  // It uses only the signing keys: the other sections' placeholders (the cache key, the table) may be
  // unset, since serverless.yml gives this function only the signing key variables.
  return fromEnvironment(env, (config) => createKeyRing(config, { env }), {
    placeholdersRequiredUnder: ['signingKeys'],
  });
}
