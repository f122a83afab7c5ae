import { resolve } from 'node:path';
import { type LoadedConfig, loadConfigFile } from '#lib/config/load-config.ts';
import type { GatewayConfig } from '#lib/config/schema.ts';

/** The deploy configuration a command reads: --config, else GATEWAY_CONFIG_SOURCE, else config/gateway.yaml. */
export function deployConfigPath(option: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(option ?? env.GATEWAY_CONFIG_SOURCE ?? 'config/gateway.yaml');
}

/**
 * The stack's key aliases for a stage (infra/kms.yml), so a command can fill the signing key placeholders
 * of the deployed configuration the way serverless.yml fills them for the functions (KMS takes alias
 * names wherever it takes a key id). Variables already set win.
 */
export function stageEnv(stage: string | undefined, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!stage) return env;
  const alias = (slot: string) => `alias/jwt-bearer-gateway-${stage}-signing-${slot}`;
  return {
    ...env,
    SIGNING_KEY_BLUE_ID: env.SIGNING_KEY_BLUE_ID || alias('blue'),
    SIGNING_KEY_GREEN_ID: env.SIGNING_KEY_GREEN_ID || alias('green'),
  };
}

/** Loads the configuration as a function would, needing only the placeholders of the given sections. */
export function loadDeployConfig(
  path: string,
  env: NodeJS.ProcessEnv,
  sections: readonly string[],
): Promise<LoadedConfig> {
  return loadConfigFile(path, env, { placeholdersRequiredUnder: sections });
}

/**
 * The configuration without its DynamoDB cache: the commands sign and exchange but never read or write the
 * shared cache, so they need neither the table nor DynamoDB's region and credentials.
 */
export function withoutSharedCache(config: GatewayConfig): GatewayConfig {
  return { ...config, cache: { ...config.cache, dynamodb: undefined } };
}
