import type { SecretReference } from '../config/schema.ts';

/** The secrets port: turns a reference from the configuration into the secret's value. */
export interface SecretStore {
  resolve(reference: SecretReference): Promise<string>;
}
