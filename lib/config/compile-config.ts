import type { z } from 'zod';
import {
  COMPILED_CONFIG_FORMAT,
  type CompiledConfig,
  checkRules,
  type FieldRules,
  type PlaceholderField,
} from './compiled-config.ts';
import { ConfigError, type ConfigIssue, formatPath, type LoadedConfig } from './config-error.ts';
import { ENV_PLACEHOLDER } from './env-placeholders.ts';
import { parseConfig, readConfigDocument } from './load-config.ts';
import { gatewayConfig } from './schema.ts';

/**
 * Build time: the deploy configuration (YAML or JSON) validated against the schema and turned into the
 * JSON the Lambda functions read at cold start (`compiled-config.ts`). Each `${env:NAME}` placeholder is
 * validated with a stand-in value (its variable exists only in Lambda) and keeps, for the cold start, the
 * string rules the schema gives its field. A placeholder is refused where those rules would not be the
 * whole check: in a field that is not a plain string (a URL, a number, a choice), one with a custom rule,
 * or one another field refers to (a signing key name).
 */
export async function compileConfigFile(path: string, source = path): Promise<CompiledConfig> {
  return compileConfig(await readConfigDocument(path, source), source);
}

export function compileConfig(document: unknown, source = 'configuration'): CompiledConfig {
  const placeholders: Array<PlaceholderField & { raw: string; standIn: string }> = [];
  const refused: ConfigIssue[] = [];
  for (const { path, raw } of findPlaceholders(document ?? {})) {
    const rules = stringRules(gatewayConfig, path, document);
    const standIn = withStandIns(raw);
    const why = typeof rules === 'string' ? rules : checkRules(standIn, rules, '')[0]?.message;
    if (why === undefined) placeholders.push({ path, rules: rules as FieldRules, raw, standIn });
    else
      refused.push({
        path: formatPath(path),
        message: `a \${env:NAME} placeholder cannot stand here: ${why}`,
      });
  }
  if (refused.length > 0) throw new ConfigError(source, refused);

  const filled = placeholders.reduce((doc, { path, standIn }) => withValueAt(doc, path, standIn), document);
  let loaded: LoadedConfig;
  try {
    loaded = parseConfig(filled, source);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(
      source,
      error.issues.map((issue) => explain(issue, placeholders)),
    );
  }
  // Back to the placeholders, now at their place in the validated output (defaults applied).
  const config = placeholders.reduce(
    (doc, { path, raw }) => withValueAt(doc, path, raw),
    loaded.config as unknown,
  );
  return {
    format: COMPILED_CONFIG_FORMAT,
    source,
    config: config as CompiledConfig['config'],
    placeholders: placeholders.map(({ path, rules }) => ({ path, rules })),
    warnings: loaded.warnings,
  };
}

/**
 * The stand-in passed the field's own rules, so an issue at its field comes from a rule that reads the
 * value together with the rest of the configuration, which the cold start could not repeat.
 */
function explain(
  issue: ConfigIssue,
  standIns: ReadonlyArray<{ path: ReadonlyArray<string | number> }>,
): ConfigIssue {
  const atPlaceholder = standIns.some(({ path }) => formatPath(path) === issue.path);
  if (!atPlaceholder) return issue;
  return {
    path: issue.path,
    message: `a \${env:NAME} placeholder cannot stand here: the value is checked against the rest of the configuration (${issue.message})`,
  };
}

/** `placeholder_NAME` for each `${env:NAME}`: a plain value most string fields accept (names, ids, ARNs). */
function withStandIns(raw: string): string {
  return raw.replace(ENV_PLACEHOLDER, (_, name: string) => `placeholder_${name}`);
}

function findPlaceholders(document: unknown): Array<{ path: Array<string | number>; raw: string }> {
  const found: Array<{ path: Array<string | number>; raw: string }> = [];
  const visit = (value: unknown, path: Array<string | number>): void => {
    if (typeof value === 'string') {
      if (value.includes('${env:')) found.push({ path, raw: value });
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) visit(item, [...path, index]);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
    }
  };
  visit(document, []);
  return found;
}

function withValueAt(document: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...Array<string | number>];
  const copy = (Array.isArray(document) ? [...document] : { ...(document as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head] = withValueAt(copy[head], rest, value);
  return copy;
}

type AnySchema = z.core.$ZodType;
/** zod 4's schema and check definitions, read as plain data (`type`, `shape`, `checks`, `minimum`, ...). */
type Def = { readonly [key: string]: unknown };

/** Wrappers whose inner schema decides what a present value must be. */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

/** The string checks a cold start can repeat without zod: each has its pattern in the check's definition. */
const PATTERN_FORMATS = new Set(['regex', 'starts_with', 'ends_with', 'includes', 'lowercase', 'uppercase']);

/**
 * The rules of the string field at `path`, read from the zod schema (union branches are chosen by the
 * value the document holds there), or why a placeholder cannot stand there.
 */
function stringRules(
  schema: AnySchema,
  path: ReadonlyArray<string | number>,
  value: unknown,
): FieldRules | string {
  const def = schema._zod.def as unknown as Def;
  if (WRAPPERS.has(def.type as string)) return stringRules(def.innerType as AnySchema, path, value);
  if (def.type === 'pipe') return stringRules(def.in as AnySchema, path, value);
  if (def.type === 'union') {
    const branch = (def.options as AnySchema[]).find((option) => matchesShape(option, value));
    return branch ? stringRules(branch, path, value) : 'no form of this field matches';
  }
  if (path.length > 0) {
    const [head, ...rest] = path as [string | number, ...Array<string | number>];
    const child = (value as Record<string | number, unknown> | undefined)?.[head];
    if (def.type === 'object') {
      const shape = def.shape as Record<string, AnySchema>;
      const next = Object.hasOwn(shape, String(head))
        ? shape[String(head)]
        : (def.catchall as AnySchema | undefined);
      return next ? stringRules(next, rest, child) : 'not a field of the configuration';
    }
    if (def.type === 'record') return stringRules(def.valueType as AnySchema, rest, child);
    if (def.type === 'array') return stringRules(def.element as AnySchema, rest, child);
    return `not inside a ${def.type}`;
  }
  if (def.type !== 'string' || def.format !== undefined)
    return `the field is a ${String(def.format ?? def.type)}, not a plain string`;
  const rules: {
    minLength?: number;
    maxLength?: number;
    patterns: Array<{ source: string; flags: string; message: string }>;
  } = {
    patterns: [],
  };
  for (const check of (def.checks ?? []) as z.core.$ZodCheck[]) {
    const checkDef = check._zod.def as unknown as Def;
    switch (checkDef.check) {
      case 'min_length':
        rules.minLength = Math.max(rules.minLength ?? 0, checkDef.minimum as number);
        break;
      case 'max_length':
        rules.maxLength = Math.min(rules.maxLength ?? Number.POSITIVE_INFINITY, checkDef.maximum as number);
        break;
      case 'length_equals':
        rules.minLength = checkDef.length as number;
        rules.maxLength = checkDef.length as number;
        break;
      case 'string_format': {
        const pattern = checkDef.pattern as RegExp | undefined;
        if (!PATTERN_FORMATS.has(checkDef.format as string) || !pattern)
          return `the field is checked as ${String(checkDef.format)}`;
        rules.patterns.push({
          source: pattern.source,
          flags: pattern.flags,
          message: messageOf(checkDef, pattern),
        });
        break;
      }
      default:
        return 'the field has a rule only the full schema can check';
    }
  }
  return rules.patterns.length > 0 ? rules : { minLength: rules.minLength, maxLength: rules.maxLength };
}

/** The schema's own message when it sets one, else zod's English default for a pattern. */
function messageOf(checkDef: Def, pattern: RegExp): string {
  const custom =
    typeof checkDef.error === 'function' ? (checkDef.error as (issue: object) => unknown)({}) : undefined;
  if (typeof custom === 'string') return custom;
  if (custom && typeof (custom as { message?: unknown }).message === 'string')
    return (custom as { message: string }).message;
  return `Invalid string: must match pattern ${pattern}`;
}

/** The union member this part of the document is written for: any issue it has is at a placeholder. */
function matchesShape(option: AnySchema, value: unknown): boolean {
  const result = (option as unknown as z.ZodType).safeParse(withStandInsDeep(value));
  if (result.success) return true;
  const placeholders = new Set(findPlaceholders(value).map(({ path }) => formatPath(path)));
  return result.error.issues.every((issue) => placeholders.has(formatPath(issue.path)));
}

function withStandInsDeep(value: unknown): unknown {
  if (typeof value === 'string') return withStandIns(value);
  if (Array.isArray(value)) return value.map(withStandInsDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withStandInsDeep(item)]));
  }
  return value;
}
