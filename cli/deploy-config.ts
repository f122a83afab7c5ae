import { relative, resolve } from 'node:path';
import { ConfigError } from '#lib/config/config-error.ts';
import { type LoadedConfig, loadConfigFile } from '#lib/config/load-config.ts';
import type { GatewayConfig } from '#lib/config/schema.ts';
import { GatewayError } from '#lib/errors.ts';
import { runningDefaultsConfig } from '#lib/local/embedded-defaults.ts';
import type { CliContext } from './context.ts';

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

/**
 * The configuration a command that signs or exchanges works on. --config, --stage or GATEWAY_CONFIG_SOURCE
 * name a deployment's; with none of them, an `npm start` on embedded defaults running in this directory
 * is what is meant (the README's first steps), and a line on stderr says so. Else config/gateway.yaml.
 */
export async function commandConfigPath(
  options: { config?: string | undefined; stage?: string | undefined },
  context: Pick<CliContext, 'env' | 'stderr'>,
): Promise<string> {
  if (options.config === undefined && options.stage === undefined && !context.env.GATEWAY_CONFIG_SOURCE) {
    const running = await runningDefaultsConfig(resolve('.state'));
    if (running) {
      context.stderr(
        `using the embedded defaults of the running npm start (${relative(process.cwd(), running)}); ` +
          "--config FILE or --stage STAGE for a deployment's configuration",
      );
      return running;
    }
  }
  return deployConfigPath(options.config, context.env);
}

/** Loads the configuration as a function would, needing only the placeholders of the given sections. */
export async function loadDeployConfig(
  path: string,
  env: NodeJS.ProcessEnv,
  sections: readonly string[],
): Promise<LoadedConfig> {
  try {
    return await loadConfigFile(path, env, { placeholdersRequiredUnder: sections });
  } catch (error) {
    if (!(error instanceof ConfigError) || !error.issues.some((issue) => UNSET.test(issue.message)))
      throw error;
    // The deploy configuration's placeholders are filled by serverless.yml; on an operator's machine
    // nothing fills them unless told how.
    throw new GatewayError(
      'ERR_CONFIG_INVALID',
      `${error.message}\nSet those variables, or add --stage STAGE (the stack's signing key aliases for ` +
        'SIGNING_KEY_BLUE_ID / SIGNING_KEY_GREEN_ID) or --config FILE (another configuration). To try ' +
        'the embedded defaults instead, run npm start first: without --config or --stage, commands use its ' +
        'configuration.',
      { cause: error },
    );
  }
}

const UNSET = /^environment variable \S+ is not set$/;

/**
 * The configuration without its DynamoDB cache: the commands sign and exchange but never read or write the
 * shared cache, so they need neither the table nor DynamoDB's region and credentials.
 */
export function withoutSharedCache(config: GatewayConfig): GatewayConfig {
  return { ...config, cache: { ...config.cache, dynamodb: undefined } };
}
