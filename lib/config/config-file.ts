import { readFile } from 'node:fs/promises';
import { isCompiledConfig, readCompiledConfig } from './compiled-config.ts';
import type { LoadedConfig } from './config-error.ts';

/**
 * The configuration a function loads at cold start. The build's compiled JSON (`npm run build` writes
 * `dist/<fn>/gateway.json`) needs only its placeholders filled and checked. Anything else (a YAML or
 * JSON configuration as written, e.g. `GATEWAY_CONFIG` pointed at another file) goes through the full
 * loader, whose YAML parser and zod schema are imported only then: in a bundle they are a chunk that
 * the compiled path never loads.
 */
export async function readConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const compiled = await readCompiled(path);
  if (compiled) return readCompiledConfig(compiled, env, path);
  const { loadConfigFile } = await import('./load-config.ts');
  return loadConfigFile(path, env);
}

async function readCompiled(path: string) {
  try {
    const document: unknown = JSON.parse(await readFile(path, 'utf8'));
    return isCompiledConfig(document) ? document : undefined;
  } catch {
    return undefined; // unreadable or not JSON: the full loader reports it
  }
}
