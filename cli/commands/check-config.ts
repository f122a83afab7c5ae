import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { expandEnvPlaceholders } from '#lib/config/env-placeholders.ts';
import { ConfigError } from '#lib/config/load-config.ts';
import { checkDeployConfig } from '../../scripts/build.ts';
import type { CliContext, CommandResult } from '../context.ts';
import { deployConfigPath } from '../deploy-config.ts';

export const CHECK_CONFIG_HELP = `check-config [--config FILE]

  Validates the deploy configuration exactly as \`npm run build\` does (same messages), without building.
  Fields holding \${env:NAME} placeholders are checked at cold start, when their values exist.
  FILE: --config, else GATEWAY_CONFIG_SOURCE, else config/gateway.yaml.`;

/** `check-config`: the build's validation of the deploy configuration, on its own. */
export async function checkConfig(options: { config?: string }, context: CliContext): Promise<CommandResult> {
  const path = deployConfigPath(options.config, context.env);
  const shown = relative(process.cwd(), path) || path;
  try {
    await checkDeployConfig(path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return {
      ok: false,
      text: error.message,
      json: { valid: false, path: shown, issues: error.issues },
    };
  }
  const document = parseYaml(await readFile(path, 'utf8')) as Record<
    string,
    Record<string, unknown> | undefined
  >;
  const { expandedPaths } = expandEnvPlaceholders(document, {});
  const names = (section: string) => Object.keys(document[section] ?? {});
  const summary = {
    valid: true,
    path: shown,
    signingKeys: names('signingKeys'),
    targets: names('targets'),
    callers: names('callers'),
    placeholders: expandedPaths,
  };
  const lines = [
    `${shown}: valid`,
    `  signing keys: ${summary.signingKeys.join(', ') || '-'}`,
    `  targets:      ${summary.targets.join(', ') || '-'}`,
    `  callers:      ${summary.callers.join(', ') || '-'}`,
  ];
  if (expandedPaths.length > 0)
    lines.push(`  checked at cold start (placeholders): ${expandedPaths.join(', ')}`);
  return { ok: true, text: lines.join('\n'), json: summary };
}
