import { createGateway } from '#lib/composition.ts';
import type { CliContext, CommandResult } from '../context.ts';
import { commandConfigPath, loadDeployConfig, stageEnv, withoutSharedCache } from '../deploy-config.ts';

export const JWKS_HELP = `jwks [--config FILE] [--stage STAGE]

  Prints the JWKS the gateway publishes for a configuration, and each key's kid: what to register with an
  authorization server that takes keys by value. KMS keys are read with GetPublicKey (AWS credentials and
  region from the environment). --stage fills SIGNING_KEY_BLUE_ID / SIGNING_KEY_GREEN_ID with that stage's
  key aliases (alias/jwt-bearer-gateway-<stage>-signing-<slot>) unless they are set. Without --config,
  --stage or GATEWAY_CONFIG_SOURCE, an npm start on embedded defaults running in this directory is used
  (else config/gateway.yaml).`;

/** `jwks`: the public keys of a configuration (a stage's, with --stage). */
export async function jwks(
  options: { config?: string; stage?: string },
  context: CliContext,
): Promise<CommandResult> {
  const env = stageEnv(options.stage, context.env);
  const { config } = await loadDeployConfig(await commandConfigPath(options, context), env, ['signingKeys']);
  const gateway = createGateway(withoutSharedCache(config), { aws: context.aws, env });
  // No region or credentials: say so in one line (ERR_AWS_UNCONFIGURED), before any call fails vaguely.
  await gateway.checkAws();
  const set = await gateway.keyRing.jwks();
  const keys = await Promise.all(
    Object.entries(config.signingKeys).map(async ([id, key]) => {
      const { kid, alg } = await gateway.keyRing.describe(id);
      return { id, kid, alg, retired: key.retired };
    }),
  );
  const lines = keys.map(
    ({ id, kid, alg, retired }) =>
      `${id.padEnd(12)} ${alg.padEnd(6)} kid ${kid}${retired ? '  (retired: published, never signs)' : ''}`,
  );
  return {
    ok: true,
    text: [...lines, '', JSON.stringify(set, null, 2)].join('\n'),
    json: { keys, jwks: set },
  };
}
