import { type ConfigIssue, formatPath } from './config-error.ts';

/**
 * `${env:NAME}` placeholders in the string values of a parsed configuration document, replaced by the
 * environment variable's value before validation. This is how a deployed configuration file names what
 * only the deployment knows (the KMS key ARNs and the table name that CloudFormation created, passed to
 * the function as environment variables): see docs/DEPLOY.md.
 *
 * Only values are expanded, never keys; a placeholder may be the whole value or part of it
 * (`arn:aws:kms:${env:AWS_REGION}:…`). A variable that is unset or empty is an issue at that field: the
 * configuration is refused rather than run with a hole in it. There is no escape syntax: no other part
 * of the configuration needs a literal `${env:`.
 */
export const ENV_PLACEHOLDER = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** `${env:` (written in two parts so it does not read as a template literal's placeholder). */
const PLACEHOLDER_START = '$' + '{env:';

export interface ExpandedDocument {
  /** A copy of the document with every placeholder replaced (an unset one by the empty string). */
  readonly document: unknown;
  /** One per unset or empty variable, at the field that names it. */
  readonly issues: readonly ConfigIssue[];
  /** The fields that held a placeholder, e.g. `cache.dynamodb.tableName`. */
  readonly expandedPaths: readonly string[];
}

export function expandEnvPlaceholders(document: unknown, env: NodeJS.ProcessEnv): ExpandedDocument {
  const issues: ConfigIssue[] = [];
  const expandedPaths: string[] = [];
  const visit = (value: unknown, path: readonly (string | number)[]): unknown => {
    if (typeof value === 'string') {
      if (!value.includes(PLACEHOLDER_START)) return value;
      const at = formatPath(path);
      expandedPaths.push(at);
      const expanded = value.replace(ENV_PLACEHOLDER, (_, name: string) => {
        const replacement = env[name];
        if (replacement === undefined || replacement === '') {
          issues.push({ path: at, message: `environment variable ${name} is not set` });
          return '';
        }
        return replacement;
      });
      // What the pattern did not take is a malformed placeholder, e.g. `${env:}` or `${env:A-B}`.
      if (value.replace(ENV_PLACEHOLDER, '').includes(PLACEHOLDER_START)) {
        issues.push({ path: at, message: `malformed placeholder: expected ${PLACEHOLDER_START}NAME}` });
      }
      return expanded;
    }
    if (Array.isArray(value)) return value.map((item, index) => visit(item, [...path, index]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, visit(item, [...path, key])]),
      );
    }
    return value;
  };
  return { document: visit(document, []), issues, expandedPaths };
}
