import { GatewayError } from '../errors.ts';
import type { GatewayConfig } from './schema.ts';

export interface ConfigIssue {
  /** The field, e.g. `targets.demo.clientAuthentication.secret`. */
  readonly path: string;
  readonly message: string;
}

/** Raised at start when the configuration cannot be used; lists every problem, each with its field. */
export class ConfigError extends GatewayError {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const lines = issues.map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`).join('\n');
    super('ERR_CONFIG_INVALID', `invalid configuration in ${source}:\n${lines}`, options);
    this.issues = issues;
  }
}

export interface LoadedConfig {
  readonly config: GatewayConfig;
  /** Things that work but should not reach production (literal secrets in development). */
  readonly warnings: readonly string[];
}

/** How every configuration issue names its field: `callers.cics.apiKeys[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}
