import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue, formatPath, type LoadedConfig } from './config-error.ts';
import { expandEnvPlaceholders } from './env-placeholders.ts';
import { type GatewayConfig, gatewayConfig } from './schema.ts';
import { secretReferences } from './secret-references.ts';

export type { ConfigIssue } from './config-error.ts';
export { ConfigError, type LoadedConfig } from './config-error.ts';
export { secretReferences } from './secret-references.ts';

/**
 * Reads a YAML or JSON configuration file (JSON is YAML), fills in its `${env:NAME}` placeholders from
 * `env`, and validates it.
 */
export async function loadConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(path, [{ path: '', message: `cannot read the file (${errnoOf(cause)})` }], {
      cause,
    });
  }
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (cause) {
    const where = cause instanceof YAMLParseError ? ` at line ${cause.linePos?.[0]?.line ?? '?'}` : '';
    throw new ConfigError(path, [{ path: '', message: `not valid YAML or JSON${where}` }], { cause });
  }
  const expanded = expandEnvPlaceholders(document, env);
  if (expanded.issues.length > 0) throw new ConfigError(path, expanded.issues);
  return parseConfig(expanded.document, path);
}

/** Validates an already parsed document; `source` names it in errors. */
export function parseConfig(document: unknown, source = 'configuration'): LoadedConfig {
  const result = gatewayConfig.safeParse(document ?? {});
  if (!result.success) throw new ConfigError(source, result.error.issues.map(toIssue));
  const config = result.data;
  const literals = literalSecretPaths(config);
  if (literals.length > 0 && config.environment === 'production') {
    const message = 'literal secret values are allowed only with environment: development';
    throw new ConfigError(
      source,
      literals.map((path) => ({ path, message })),
    );
  }
  const warnings = literals.map(
    (path) => `${path} holds a literal secret: use secretsManager or env outside development`,
  );
  return { config, warnings };
}

function toIssue(issue: z.core.$ZodIssue): ConfigIssue {
  // zod reports a bad record key as "Invalid key in record"; say what a key must look like.
  const detail = issue.code === 'invalid_key' ? issue.issues.map((inner) => inner.message).join('; ') : '';
  const message = detail ? `invalid name: ${detail}` : issue.message;
  return { path: formatPath(issue.path), message };
}

function literalSecretPaths(config: GatewayConfig): string[] {
  return secretReferences(config)
    .filter(({ reference }) => reference.value !== undefined)
    .map(({ path }) => path);
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unknown error';
}
