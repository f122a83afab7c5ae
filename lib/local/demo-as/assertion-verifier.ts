// Assertion verification (RFC 7523 section 3) for jwt-bearer assertions and token-exchange subject tokens.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import type { SigningAlgorithm } from 'oidc-provider';
import type { TrustedAssertionIssuer } from './options.ts';

/** RFC 7518 asymmetric JWS algorithms accepted for assertions (what AWS KMS can produce). */
export const ASSERTION_ALGORITHMS: SigningAlgorithm[] = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];

export interface VerifiedAssertion {
  sub: string;
  iss: string;
}

/** The JWT was looked at and refused; `message` is the client-facing error_description. */
export class AssertionRejected extends Error {}

/** The issuer's keys could not be fetched: not the client's fault, so not an invalid_grant. */
export class AssertionKeysUnavailable extends Error {}

interface AssertionPolicy {
  audiences: string[];
  clockToleranceSeconds: number;
  maxLifetimeSeconds: number;
}

interface IssuerKeys {
  trusted: TrustedAssertionIssuer;
  keys: JWTVerifyGetKey;
}

/**
 * Verifies user-identifying JWTs (jwt-bearer assertions and token-exchange subject tokens) against the
 * trusted issuers, and remembers every accepted `jti` until it expires so an assertion is single use.
 */
export class AssertionVerifier {
  readonly #issuers: IssuerKeys[];
  readonly #policy: AssertionPolicy;
  /** `[iss, jti]` -> epoch seconds after which the entry may be forgotten (the assertion is expired by then). */
  readonly #seen = new Map<string, number>();

  constructor(trustedIssuers: TrustedAssertionIssuer[], policy: AssertionPolicy) {
    this.#policy = policy;
    // One key set per issuer, built once, so a remote JWKS is cached across requests.
    this.#issuers = trustedIssuers.map((trusted) => ({
      trusted,
      keys: trusted.jwksUri ? createRemoteJWKSet(new URL(trusted.jwksUri)) : createLocalJWKSet(trusted.jwks!),
    }));
  }

  /**
   * @param label how the JWT is named in error descriptions ('assertion', 'subject_token').
   * @see RFC 7523 section 3 (JWT format and processing requirements)
   */
  async verify(jwt: string, clientId: string, label: string): Promise<VerifiedAssertion> {
    const issuerKeys = this.#issuerFor(unverifiedIssuer(jwt, label), clientId, label);
    const payload = await this.#verifySignatureAndClaims(jwt, issuerKeys, label);
    const verified = this.#checkClaims(payload, label);
    this.#rememberOnce(verified.iss, payload.jti as string, payload.exp as number, label);
    return verified;
  }

  /** RFC 7523 3 item 1: the issuer must be one we trust, and trusted for this particular client. */
  #issuerFor(iss: string, clientId: string, label: string): IssuerKeys {
    const found = this.#issuers.find(
      ({ trusted }) => trusted.issuer === iss && trusted.clientIds.includes(clientId),
    );
    if (!found) {
      throw new AssertionRejected(`${label} issuer "${iss}" is not trusted for client "${clientId}"`);
    }
    return found;
  }

  async #verifySignatureAndClaims(jwt: string, { trusted, keys }: IssuerKeys, label: string) {
    try {
      const { payload } = await jwtVerify(jwt, keys, {
        issuer: trusted.issuer,
        audience: this.#policy.audiences,
        algorithms: ASSERTION_ALGORITHMS,
        clockTolerance: this.#policy.clockToleranceSeconds,
        // RFC 7523 3 items 2 and 4 require sub and exp; jti is required here to enforce single use.
        requiredClaims: ['exp', 'sub', 'jti'],
      });
      return payload;
    } catch (error) {
      throw describeJoseFailure(error, label, this.#policy.audiences);
    }
  }

  #checkClaims(payload: JWTPayload, label: string): VerifiedAssertion {
    const { sub, jti, iat, exp, iss } = payload as Required<JWTPayload>;
    if (typeof sub !== 'string' || sub.trim() === '') {
      throw new AssertionRejected(`${label} sub claim must be a non-empty string`);
    }
    if (typeof jti !== 'string' || jti === '') {
      throw new AssertionRejected(`${label} jti claim must be a non-empty string`);
    }
    const now = epochSeconds();
    const tolerance = this.#policy.clockToleranceSeconds;
    if (iat !== undefined && iat > now + tolerance) {
      throw new AssertionRejected(`${label} iat claim is in the future`);
    }
    // Long-lived assertions defeat the replay cache and widen the window for a stolen one. Without iat the
    // remaining lifetime is all there is to judge, with the clock tolerance granted.
    const lifetime = iat !== undefined ? exp - iat : exp - now;
    const allowed = this.#policy.maxLifetimeSeconds + (iat !== undefined ? 0 : tolerance);
    if (lifetime > allowed) {
      throw new AssertionRejected(
        `${label} lifetime of ${lifetime}s exceeds the maximum of ${this.#policy.maxLifetimeSeconds}s`,
      );
    }
    return { sub, iss };
  }

  /** RFC 7523 3 item 7: the AS may keep used jti values to refuse replays, for as long as they are valid. */
  #rememberOnce(iss: string, jti: string, exp: number, label: string): void {
    const now = epochSeconds();
    for (const [key, forgetAfter] of this.#seen) {
      if (forgetAfter < now) this.#seen.delete(key);
    }
    const key = JSON.stringify([iss, jti]);
    if (this.#seen.has(key)) {
      throw new AssertionRejected(`${label} replayed: jti "${jti}" was already used`);
    }
    this.#seen.set(key, exp + this.#policy.clockToleranceSeconds);
  }
}

/** Only to pick the issuer's keys; the issuer is verified again, with the signature, by jwtVerify. */
function unverifiedIssuer(jwt: string, label: string): string {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(jwt);
  } catch {
    throw new AssertionRejected(`${label} is not a well-formed JWT`);
  }
  if (typeof payload.iss !== 'string' || payload.iss === '') {
    throw new AssertionRejected(`${label} is missing the required "iss" claim`);
  }
  return payload.iss;
}

/** Turn jose's errors into descriptions a client developer can act on. */
function describeJoseFailure(error: unknown, label: string, audiences: string[]): Error {
  if (!(error instanceof joseErrors.JOSEError)) {
    return new AssertionKeysUnavailable(`unable to load the ${label} issuer keys: ${String(error)}`);
  }
  switch (error.code) {
    case joseErrors.JWSSignatureVerificationFailed.code:
      return new AssertionRejected(`${label} signature invalid`);
    case joseErrors.JWKSNoMatchingKey.code:
      return new AssertionRejected(`${label} signature invalid: no key of the issuer matches the JWS header`);
    case joseErrors.JWKSMultipleMatchingKeys.code:
      return new AssertionRejected(
        `${label} JWS header must carry a kid: several keys of the issuer match it`,
      );
    case joseErrors.JOSENotSupported.code:
      return new AssertionRejected(`${label} uses an unsupported JOSE feature: ${error.message}`);
    case joseErrors.JOSEAlgNotAllowed.code:
      return new AssertionRejected(
        `${label} signature invalid: alg not allowed (use one of ${ASSERTION_ALGORITHMS})`,
      );
    case joseErrors.JWTExpired.code:
      return new AssertionRejected(`${label} expired`);
    case joseErrors.JWTClaimValidationFailed.code:
      return describeClaimFailure(error as joseErrors.JWTClaimValidationFailed, label, audiences);
    case joseErrors.JWSInvalid.code:
    case joseErrors.JWTInvalid.code:
      return new AssertionRejected(`${label} is not a well-formed JWT: ${error.message}`);
    default:
      return new AssertionKeysUnavailable(`unable to load the ${label} issuer keys: ${error.message}`);
  }
}

function describeClaimFailure(
  error: joseErrors.JWTClaimValidationFailed,
  label: string,
  audiences: string[],
) {
  if (error.reason === 'missing') {
    return new AssertionRejected(`${label} is missing the required "${error.claim}" claim`);
  }
  switch (error.claim) {
    case 'aud':
      return new AssertionRejected(`${label} audience invalid: expected one of ${audiences.join(', ')}`);
    case 'iss':
      return new AssertionRejected(`${label} issuer invalid`);
    case 'nbf':
      return new AssertionRejected(`${label} is not yet valid (nbf)`);
    default:
      return new AssertionRejected(`${label} ${error.claim} claim invalid`);
  }
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
