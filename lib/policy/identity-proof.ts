import { lookup } from '../config/lookup.ts';
import type { GatewayConfig, TrustedIdentityIssuerConfig } from '../config/schema.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import { IdentityTokenVerifier, type VerifiedIdentity } from './identity-token.ts';

/**
 * Each caller's trusted identity token issuer (`callers.<id>.oauth.identityTokens`), one verifier per
 * caller, shared by every route where a caller proves the end user instead of naming them: the RFC 8693
 * facade (`subject_token`) and proxy mode (`x-subject-token`). One verifier per caller means one JWKS
 * cache, whichever route a token arrives on.
 * @see https://www.rfc-editor.org/rfc/rfc8693#section-2.1
 */
export class IdentityProof {
  private readonly verifiers = new Map<string, IdentityTokenVerifier>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly secrets: SecretStore,
    private readonly options: { readonly fetch?: typeof fetch } = {},
  ) {}

  /** The issuer whose tokens prove end users for this caller, if it has one. */
  trustOf(callerId: string): TrustedIdentityIssuerConfig | undefined {
    return lookup(this.config.callers, callerId)?.oauth.identityTokens;
  }

  /** The caller must prove every end user: a named subject (x-subject, username, subject) is refused. */
  required(callerId: string): boolean {
    return this.trustOf(callerId)?.required === true;
  }

  /**
   * Verifies an identity token against the caller's trusted issuer; `undefined` when the caller has none
   * (each route answers that in its own terms). Rejects with ERR_IDENTITY_TOKEN_INVALID or
   * ERR_IDENTITY_KEYS_UNAVAILABLE.
   */
  async verify(callerId: string, token: string): Promise<VerifiedIdentity | undefined> {
    const trust = this.trustOf(callerId);
    if (!trust) return undefined;
    let verifier = this.verifiers.get(callerId);
    if (!verifier) {
      verifier = new IdentityTokenVerifier(trust, this.secrets, { fetch: this.options.fetch });
      this.verifiers.set(callerId, verifier);
    }
    return verifier.verify(token);
  }
}
