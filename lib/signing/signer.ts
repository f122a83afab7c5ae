import type { JWK } from 'jose';
import type { JwsAlgorithm } from './algorithms.ts';

/** What a relying party needs to know about a signing key: its algorithm, key id and public key. */
export interface SigningKeyDescription {
  readonly alg: JwsAlgorithm;
  readonly kid: string;
  /** The public key as a JWK carrying `kid`, `alg` and `use: "sig"`. */
  readonly publicJwk: JWK;
  /** Base64url SHA-256 thumbprint of the key's X.509 certificate, when one is configured (RFC 7515 4.1.8). */
  readonly x5tS256?: string;
}

/**
 * The signing port. Adapters keep the private key wherever they like (KMS, a local file); callers only
 * ever see the public half and JWS signature bytes.
 */
export interface Signer {
  /** The key's name in the configuration. */
  readonly id: string;
  /** Fetched once and cached; concurrent first calls share one lookup. */
  describe(): Promise<SigningKeyDescription>;
  /**
   * Signs a JWS signing input (`BASE64URL(header) || '.' || BASE64URL(payload)`) and returns the JWS
   * signature bytes: for ECDSA the fixed-width R||S of RFC 7518 3.4, never DER.
   */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}
