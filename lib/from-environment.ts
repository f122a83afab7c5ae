import type { LoadedConfig } from './config/config-error.ts';
import { type ReadConfigOptions, readConfigFile } from './config/config-file.ts';

export type LoadOptions = ReadConfigOptions;

import type { GatewayConfig } from './config/schema.ts';
import { describeError, logger } from './observability/logger.ts';

/**
 * What a Lambda function builds from the file named by `GATEWAY_CONFIG` (default `gateway.yaml` beside
 * the function; the build ships `gateway.json`), its `${env:NAME}` placeholders filled from the
 * environment, and its AWS adapters loaded and checked. Loaded once; the Lambda entry points await it
 * during init, so an invalid configuration fails the cold start with one clear log line (and any request
 * that still reaches a handler answers `gateway_misconfigured`).
 */
export function fromEnvironment<T extends { checkAws: () => Promise<void> }>(
  env: NodeJS.ProcessEnv,
  build: (config: GatewayConfig) => T,
  options: LoadOptions = {},
): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= (async () => {
      const path = env.GATEWAY_CONFIG ?? 'gateway.yaml';
      try {
        const { config, warnings }: LoadedConfig = await readConfigFile(path, env, options);
        for (const warning of warnings) logger.warn(warning);
        const built = build(config);
        // During the init, not the first request: the AWS adapters this configuration uses, their region
        // and credentials.
        await built.checkAws();
        return built;
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
    return loaded;
  };
}
