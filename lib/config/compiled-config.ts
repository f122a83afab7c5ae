import { clientIdIssues } from './client-id-rules.ts';
import { ConfigError, type ConfigIssue, formatPath, type LoadedConfig } from './config-error.ts';
import { expandEnvPlaceholders } from './env-placeholders.ts';
import type { GatewayConfig } from './schema.ts';

/**
 * The configuration as `npm run build` ships it to Lambda (`dist/<fn>/gateway.json`): already validated
 * against the zod schema at build time, defaults applied, with its `${env:NAME}` placeholders still in
 * place. At cold start only the placeholders are filled and each filled value is checked against its
 * field's string rules, which the build copied out of the schema; neither the YAML parser nor zod is
 * loaded (together about half of the init time and of the bundle before this existed: docs/PERFORMANCE.md).
 * Build side: `compile-config.ts`.
 */
export const COMPILED_CONFIG_FORMAT = 'jwt-bearer-gateway/compiled-config/1';

/** A field's string rules, as the schema states them (zod's `min`, `max`, `regex`, `startsWith`, ...). */
export interface FieldRules {
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly patterns?: ReadonlyArray<{
    readonly source: string;
    readonly flags: string;
    readonly message: string;
  }>;
}

export interface PlaceholderField {
  /** Where the placeholder is, as property names and array indexes. */
  readonly path: ReadonlyArray<string | number>;
  readonly rules: FieldRules;
}

export interface CompiledConfig {
  readonly format: typeof COMPILED_CONFIG_FORMAT;
  /** The file it was compiled from, for error messages. */
  readonly source: string;
  /** The validated configuration (zod's output), placeholders unfilled. */
  readonly config: GatewayConfig;
  readonly placeholders: readonly PlaceholderField[];
  readonly warnings: readonly string[];
}

export function isCompiledConfig(document: unknown): document is CompiledConfig {
  return (
    typeof document === 'object' &&
    document !== null &&
    (document as { format?: unknown }).format === COMPILED_CONFIG_FORMAT
  );
}

export interface ReadCompiledOptions {
  /**
   * The top-level sections whose `${env:NAME}` placeholders must be set (default: all). A placeholder
   * elsewhere whose variable is unset stands for `unset-NAME`, unchecked: a function that uses only some
   * sections (jwks: `signingKeys`) is given only the variables those need (least privilege: docs/DEPLOY.md).
   */
  readonly placeholdersRequiredUnder?: readonly string[];
}

/**
 * Fills the placeholders from `env` and checks each filled value; every problem is reported at its field,
 * as the schema would (`cache.dynamodb.tableName: environment variable TOKEN_TABLE is not set`).
 */
export function readCompiledConfig(
  compiled: CompiledConfig,
  env: NodeJS.ProcessEnv,
  file: string,
  options: ReadCompiledOptions = {},
): LoadedConfig {
  const source = `${file} (compiled from ${compiled.source})`;
  const required = options.placeholdersRequiredUnder;
  const isRequired = (path: ReadonlyArray<string | number>) =>
    required === undefined || required.includes(String(path[0]));
  const unused = compiled.placeholders
    .filter(({ path }) => !isRequired(path))
    .map(({ path }) => formatPath(path));
  const standIns = new Proxy(env, {
    get: (target, name) => (typeof name === 'string' && target[name]) || `unset-${String(name)}`,
  });
  const filled = expandEnvPlaceholders(compiled.config, required === undefined ? env : standIns);
  const issues = required === undefined ? filled.issues : expandEnvPlaceholders(compiled.config, env).issues;
  const missing = issues.filter((issue) => !unused.includes(issue.path));
  if (missing.length > 0) throw new ConfigError(source, missing);
  const ruleIssues = compiled.placeholders
    .filter(({ path }) => isRequired(path))
    .flatMap(({ path, rules }) => checkRules(valueAt(filled.document, path), rules, formatPath(path)));
  if (ruleIssues.length > 0) throw new ConfigError(source, ruleIssues);
  const config = filled.document as GatewayConfig;
  // The build checked these rules with distinct stand-ins; the filled values may still break them.
  const crossIssues = clientIdIssues(config)
    .filter(({ path }) => isRequired(path))
    .map(({ path, message }) => ({ path: formatPath(path), message }));
  if (crossIssues.length > 0) throw new ConfigError(source, crossIssues);
  return { config, warnings: compiled.warnings };
}

function valueAt(document: unknown, path: ReadonlyArray<string | number>): unknown {
  let value = document;
  for (const part of path) value = (value as Record<string | number, unknown> | undefined)?.[part];
  return value;
}

/** The filled value against the rules the build copied from the schema; the messages follow zod's. */
export function checkRules(value: unknown, rules: FieldRules, path: string): ConfigIssue[] {
  if (typeof value !== 'string') return [{ path, message: 'expected a string' }];
  const issues: ConfigIssue[] = [];
  if (rules.minLength !== undefined && value.length < rules.minLength) {
    issues.push({ path, message: `Too small: expected string to have >=${rules.minLength} characters` });
  }
  if (rules.maxLength !== undefined && value.length > rules.maxLength) {
    issues.push({ path, message: `Too big: expected string to have <=${rules.maxLength} characters` });
  }
  for (const { source, flags, message } of rules.patterns ?? []) {
    // Without g or y, test() keeps no state between calls.
    if (!new RegExp(source, flags.replace(/[gy]/g, '')).test(value)) issues.push({ path, message });
  }
  return issues;
}
