import { AwsAdapters, type AwsClients } from './aws-adapters.ts';
import type { GatewayConfig } from './config/schema.ts';
import { fromEnvironment } from './from-environment.ts';
import { type GatewayMetrics, powertoolsMetrics } from './observability/metrics.ts';
import { SigningKeyRing } from './signing/key-ring.ts';
import { LocalSigner } from './signing/local-signer.ts';
import type { Signer } from './signing/signer.ts';

// The composition of functions/jwks.ts: the signing keys alone, in a module of their own so that the jwks
// bundle holds no exchanger, cache, caller policy or token request (lib/composition.ts has the rest).

/**
 * The signing keys alone: what functions/jwks.ts builds (no exchanger, cache or caller policy, so its
 * bundle holds none of them).
 */
export function createKeyRing(
  config: GatewayConfig,
  deps: { readonly aws?: AwsClients; readonly metrics?: GatewayMetrics } = {},
): { readonly keyRing: SigningKeyRing; readonly checkAws: () => Promise<void> } {
  const adapters = new AwsAdapters(deps.aws);
  const keyRing = signingKeyRing(config, adapters, deps.metrics ?? powertoolsMetrics);
  return { keyRing, checkAws: () => adapters.checkAws() };
}

export function signingKeyRing(
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

/** The key ring of this container, as `gatewayFromEnvironment` loads the gateway: for functions/jwks.ts. */
export function keyRingFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): () => Promise<{ readonly keyRing: SigningKeyRing }> {
  return fromEnvironment(env, (config) => createKeyRing(config));
}
