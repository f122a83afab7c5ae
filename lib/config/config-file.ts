import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isCompiledConfig, type ReadCompiledOptions, readCompiledConfig } from './compiled-config.ts';
import { ConfigError, type LoadedConfig } from './config-error.ts';

/**
 * The configuration a Lambda function loads at cold start: the JSON `npm run build` compiled from the
 * deploy configuration (`dist/<fn>/gateway.json`), validated at build time, so that only its
 * placeholders are filled and checked here. The functions bundle neither the YAML parser nor the zod
 * schema: a configuration as written (YAML, or JSON that was not compiled) is refused with how to
 * compile it. `npm start` and the tests read configurations as written with `loadConfigFile`.
 */
export type ReadConfigOptions = ReadCompiledOptions;

export async function readConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  options: ReadConfigOptions = {},
): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(path, [{ path: '', message: `cannot read the file (${code})` }], { cause });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // not JSON: a configuration as written (YAML), refused below
  }
  if (!isCompiledConfig(document)) {
    const message =
      'not a compiled configuration: deploy the gateway.json that npm run build writes (npm run build -- --config FILE compiles another)';
    throw new ConfigError(path, [{ path: '', message }]);
  }
  const loaded = readCompiledConfig(document, env, path, options);
  return { ...loaded, config: withFilesRelativeTo(dirname(resolve(path)), loaded.config) };
}

/**
 * A signing key's `certificateFile` is relative to the configuration file, as `npm run build` bundles it
 * beside the configuration (dist/<fn>/), so the same file works on the laptop and in Lambda.
 */
function withFilesRelativeTo(dir: string, config: LoadedConfig['config']): LoadedConfig['config'] {
  const signingKeys = Object.fromEntries(
    Object.entries(config.signingKeys).map(([id, key]) => [
      id,
      key.certificateFile ? { ...key, certificateFile: resolve(dir, key.certificateFile) } : key,
    ]),
  );
  return { ...config, signingKeys };
}
