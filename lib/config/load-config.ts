import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue, formatPath, type LoadedConfig } from './config-error.ts';
import { expandEnvPlaceholders } from './env-placeholders.ts';
import { type GatewayConfig, gatewayConfig } from './schema.ts';
import { secretReferences } from './secret-references.ts';

export { ConfigError, type LoadedConfig } from './config-error.ts';

/**
 * Reads a YAML or JSON configuration file (JSON is YAML), fills in its `${env:NAME}` placeholders from
 * `env`, and validates it.
 */
export interface LoadConfigOptions {
  /**
   * The top-level sections whose `${env:NAME}` placeholders must be set (default: all). A placeholder
   * elsewhere whose variable is unset stands for `unset-NAME`: a function that uses only some sections
   * (jwks: `signingKeys`) is given only the variables those need (least privilege: docs/DEPLOY.md).
   */
  readonly placeholdersRequiredUnder?: readonly string[];
}

/**
 * A configuration file as written (YAML, or JSON, which is YAML), parsed: what `npm start`, `npm run
 * build` and `check-config` all read, so that they say the same about an unreadable file (its errno) or a
 * syntax error (line, column and code, never the text around it). `source` names the file in messages.
 */
export async function readConfigDocument(path: string, source = path): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(source, [{ path: '', message: `cannot read the file (${errnoOf(cause)})` }], {
      cause,
    });
  }
  try {
    // prettyErrors for the line and column; logLevel error: warnings would be printed with their text.
    return parseYaml(text, { prettyErrors: true, logLevel: 'error' });
  } catch (error) {
    // No cause: the parser's message quotes the offending line, and a literal secret may stand on it.
    throw new ConfigError(source, [{ path: '', message: `not valid YAML or JSON${yamlProblem(error)}` }]);
  }
}

export async function loadConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadConfigOptions = {},
): Promise<LoadedConfig> {
  const document = await readConfigDocument(path);
  const expanded = expandEnvPlaceholders(document, env);
  const loaded = loadExpanded(path, document, expanded, env, options);
  return { ...loaded, config: withFilesRelativeTo(dirname(resolve(path)), loaded.config) };
}

function loadExpanded(
  path: string,
  document: unknown,
  expanded: ReturnType<typeof expandEnvPlaceholders>,
  env: NodeJS.ProcessEnv,
  options: LoadConfigOptions,
): LoadedConfig {
  const required = options.placeholdersRequiredUnder;
  if (!required) {
    if (expanded.issues.length > 0) throw new ConfigError(path, expanded.issues);
    return parseConfig(expanded.document, path);
  }
  const inRequired = (at: string) =>
    required.some((section) => at === section || at.startsWith(`${section}.`));
  const issues = expanded.issues.filter((issue) => inRequired(issue.path));
  if (issues.length > 0) throw new ConfigError(path, issues);
  const standIns = new Proxy(env, {
    get: (target, name) => (typeof name === 'string' && target[name]) || `unset-${String(name)}`,
  });
  return parseConfig(expandEnvPlaceholders(document, standIns).document, path);
}

/**
 * A signing key's `certificateFile` is relative to the configuration file, as `npm run build` bundles it
 * beside the configuration (dist/<fn>/), so the same file works on the laptop and in Lambda.
 */
function withFilesRelativeTo(dir: string, config: GatewayConfig): GatewayConfig {
  const signingKeys = Object.fromEntries(
    Object.entries(config.signingKeys).map(([id, key]) => [
      id,
      key.certificateFile ? { ...key, certificateFile: resolve(dir, key.certificateFile) } : key,
    ]),
  );
  return { ...config, signingKeys };
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

/**
 * What the YAML parser found wrong, in words of our own: its messages may quote the source (escape
 * sequences, tags, block scalar headers), so only its stable code and position are used.
 */
const YAML_PROBLEMS: Readonly<Record<string, string>> = {
  BAD_ALIAS: 'an alias or anchor is malformed',
  BAD_DIRECTIVE: 'a % directive is malformed',
  BAD_DQ_ESCAPE: 'a double-quoted string has an invalid escape sequence',
  BAD_INDENT: 'the indentation is wrong',
  BAD_PROP_ORDER: 'an anchor or tag is misplaced',
  BAD_SCALAR_START: 'a plain value starts with a reserved character; quote it',
  BLOCK_AS_IMPLICIT_KEY: 'a block value is used as a key',
  BLOCK_IN_FLOW: 'a block value stands inside [ ] or { }',
  DUPLICATE_KEY: 'a key appears twice in the same mapping',
  MISSING_CHAR: 'a closing quote, bracket, comma or colon is missing',
  MULTILINE_IMPLICIT_KEY: 'a key spans several lines',
  MULTIPLE_DOCS: 'the file holds more than one document',
  TAB_AS_INDENT: 'a tab is used for indentation',
  TAG_RESOLVE_FAILED: 'an unknown !tag is used',
  UNEXPECTED_TOKEN: 'something stands where it cannot',
};

function yamlProblem(error: unknown): string {
  if (!(error instanceof YAMLParseError)) return '';
  const position = error.linePos?.[0];
  const where = position ? ` at line ${position.line}, column ${position.col}` : '';
  return `${where}: ${error.code} (${YAML_PROBLEMS[error.code] ?? 'see the YAML specification'})`;
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unknown error';
}
