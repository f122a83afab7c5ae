import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { Signer } from '../signing/signer.ts';
import { type JwtHeaderOptions, signJwt } from './sign-jwt.ts';

/** RFC 7523 bounds the lifetime only loosely; we cap it so a leaked assertion is worthless within minutes. */
const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const DEFAULT_ASSERTION_LIFETIME_SECONDS = 60;

export interface AssertionClaims {
  readonly issuer: string;
  readonly subject: string;
  /** A single string, never an array: several servers reject array audiences. */
  readonly audience: string;
  readonly lifetimeSeconds?: number | undefined;
  /** Add `nbf` (equal to `iat`). */
  readonly notBefore?: boolean | undefined;
  /**
   * Seconds to backdate `iat` (and `nbf`) for authorization servers whose clocks run behind ours.
   * Never forward: RFC 7523 servers reject assertions issued in the future. Counted against the
   * lifetime (`exp - iat` stays `lifetimeSeconds`), so it must be less than the lifetime.
   */
  readonly clockSkewSeconds?: number | undefined;
  /** Static extra claims from the configuration. */
  readonly extraClaims?: Readonly<Record<string, unknown>> | undefined;
}

export interface SignedAssertion {
  readonly jwt: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

/**
 * Builds and signs a JWT bearer assertion: `iss`, `sub`, `aud`, `exp`, `iat`, a fresh `jti` every time,
 * optional `nbf`. Every call yields a new assertion; none is ever reused.
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export async function buildAssertion(
  signer: Signer,
  claims: AssertionClaims,
  header: JwtHeaderOptions = {},
  now: number = Date.now(),
): Promise<SignedAssertion> {
  const lifetime = claims.lifetimeSeconds ?? DEFAULT_ASSERTION_LIFETIME_SECONDS;
  if (!Number.isInteger(lifetime) || lifetime <= 0 || lifetime > MAX_ASSERTION_LIFETIME_SECONDS) {
    throw new RangeError(`assertion lifetime must be 1..${MAX_ASSERTION_LIFETIME_SECONDS} seconds`);
  }
  const skew = Math.max(0, claims.clockSkewSeconds ?? 0);
  if (skew >= lifetime) throw new RangeError('clock skew must be less than the assertion lifetime');
  const iat = Math.floor(now / 1000) - skew;
  // Strict servers bound exp - iat (not exp - now) by their maximum lifetime: backdating spends lifetime.
  const exp = iat + lifetime;
  const jti = randomUUID();
  const payload: JWTPayload = {
    ...claims.extraClaims,
    iss: claims.issuer,
    sub: claims.subject,
    aud: claims.audience,
    iat,
    exp,
    jti,
    ...(claims.notBefore ? { nbf: iat } : {}),
  };
  return { jwt: await signJwt(signer, payload, header), jti, iat, exp };
}
