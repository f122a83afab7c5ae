import type { SecretReference } from '../config/schema.ts';
import type { SecretStore } from './secret-store.ts';

/**
 * The secret store for one request: each reference is resolved at most once, and every later use shares
 * that answer. The store's own cache does not promise this (with a TTL of 0, or one that runs out during
 * the read), and a request that read a secret twice would wait twice on a hanging Secrets Manager.
 */
export function readOnce(store: SecretStore): SecretStore {
  const reads = new Map<SecretReference, Promise<string>>();
  return {
    resolve(reference) {
      let read = reads.get(reference);
      if (!read) {
        read = store.resolve(reference);
        reads.set(reference, read);
      }
      return read;
    },
  };
}
