import type { JSONWebKeySet } from 'jose';
import { GatewayError } from '../errors.ts';
import type { Signer, SigningKeyDescription } from './signer.ts';

export interface KeyRingEntry {
  readonly signer: Signer;
  /** A retired key stays in the JWKS (until what it signed has expired) but never signs again. */
  readonly retired: boolean;
}

/** All configured signing keys: the ones that may sign, and the ones that are only published. */
export class SigningKeyRing {
  private readonly entries: ReadonlyMap<string, KeyRingEntry>;

  constructor(entries: Iterable<KeyRingEntry>) {
    this.entries = new Map([...entries].map((entry) => [entry.signer.id, entry]));
  }

  /** The signer for a key that may sign. */
  signer(id: string): Signer {
    const entry = this.entries.get(id);
    if (!entry)
      throw new GatewayError('ERR_SIGNING_KEY_NOT_FOUND', `no signing key named "${id}" is configured`);
    if (entry.retired) throw new GatewayError('ERR_SIGNING_KEY_UNUSABLE', `signing key "${id}" is retired`);
    return entry.signer;
  }

  /** The description (public key, kid) of any configured key, retired ones included. */
  describe(id: string): Promise<SigningKeyDescription> {
    const entry = this.entries.get(id);
    if (!entry)
      throw new GatewayError('ERR_SIGNING_KEY_NOT_FOUND', `no signing key named "${id}" is configured`);
    return entry.signer.describe();
  }

  /**
   * The public keys of every configured key, retired ones included. All or nothing: a JWKS that silently
   * lost a key would make a relying party reject tokens that key signed.
   * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
   */
  async jwks(): Promise<JSONWebKeySet> {
    const descriptions = await Promise.all(
      [...this.entries.values()].map((entry) => entry.signer.describe()),
    );
    return { keys: descriptions.map((description) => description.publicJwk) };
  }
}
