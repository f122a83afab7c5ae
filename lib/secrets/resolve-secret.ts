import type { SecretReference } from '../config/schema.ts';
import { GatewayError } from '../errors.ts';
import type { SecretStore } from './secret-store.ts';
import type { SecretsManagerStore } from './secrets-manager-store.ts';

export interface SecretResolverOptions {
  /** Needed only when the configuration references Secrets Manager. */
  readonly secretsManager?: Pick<SecretsManagerStore, 'get' | 'check'> | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Resolves any kind of reference: Secrets Manager, an environment variable, or a literal (the loader
 * has already refused literals outside development).
 */
export class SecretResolver implements SecretStore {
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly options: SecretResolverOptions = {}) {
    this.env = options.env ?? process.env;
  }

  async resolve(reference: SecretReference): Promise<string> {
    if (reference.value !== undefined) return reference.value;
    if (reference.env !== undefined) {
      const value = this.env[reference.env];
      if (!value)
        throw new GatewayError('ERR_SECRET_NOT_FOUND', `environment variable ${reference.env} is not set`);
      return value;
    }
    if (reference.secretsManager !== undefined) {
      if (!this.options.secretsManager) {
        throw new GatewayError('ERR_SECRET_UNAVAILABLE', 'Secrets Manager is not configured in this runtime');
      }
      return this.options.secretsManager.get(
        reference.secretsManager.secretId,
        reference.secretsManager.field,
      );
    }
    throw new GatewayError('ERR_SECRET_NOT_FOUND', 'empty secret reference');
  }

  /**
   * Whether the reference can be read now, for the readiness probe: a Secrets Manager reference is read
   * from Secrets Manager (never from the cache), bounded by `signal`; the others as `resolve` reads them.
   */
  async check(reference: SecretReference, signal: AbortSignal): Promise<void> {
    const held = reference.secretsManager;
    if (held === undefined || !this.options.secretsManager) {
      await this.resolve(reference);
      return;
    }
    await this.options.secretsManager.check(held.secretId, held.field, signal);
  }
}
