import { createPublicKey } from 'node:crypto';
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type FetchImplementation,
  importSPKI,
  importX509,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { TrustedIdentityIssuerConfig } from '../config/schema.ts';
import { remainingMs } from '../deadline.ts';
import { GatewayError } from '../errors.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import { PRINTABLE, TOKEN_REQUEST_LIMITS } from '../token-request.ts';

/** What a verified identity token says about the end user. */
export interface VerifiedIdentity {
  /** The `sub` claim: the end user, checked by the caller policy like any subject. */
  readonly subject: string;
  readonly issuer: string;
  /** The `jti` claim, when present, for the audit log. */
  readonly tokenId?: string | undefined;
}

export interface IdentityTokenVerifierOptions {
  /** JWKS transport; the global fetch by default. */
  readonly fetch?: typeof fetch;
  /** Per JWKS fetch. */
  readonly timeoutMs?: number;
}

/** A JWKS is a few keys; anything larger is refused before it is parsed. */
const MAX_JWKS_BYTES = 64 * 1024;
/** Identity tokens are small; a larger one is refused before it is decoded. */
export const MAX_IDENTITY_TOKEN_LENGTH = 8192;

/**
 * Verifies a JWT the mainframe signed for an end user (z/OS Connect `zosconnect_authTokenLocal`, Liberty
 * `jwtBuilder`, a RACF-issued token) against one trusted issuer: signature by a key of its JWKS or its
 * PEM certificate, an allowed algorithm (never `none`, never HMAC), `iss`, `aud`, `exp`, and `iat` no
 * older than the maximum age. Reusable wherever a caller proves the user instead of naming them (the
 * RFC 8693 facade, proxy mode).
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-7.2
 * @see https://www.rfc-editor.org/rfc/rfc8725
 */
export class IdentityTokenVerifier {
  private keys: JWTVerifyGetKey | undefined;

  constructor(
    private readonly trust: TrustedIdentityIssuerConfig,
    private readonly secrets: SecretStore,
    private readonly options: IdentityTokenVerifierOptions = {},
  ) {}

  async verify(token: string): Promise<VerifiedIdentity> {
    if (token.length > MAX_IDENTITY_TOKEN_LENGTH) throw invalid('the identity token is too long');
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(token, this.keyResolver(), {
        issuer: this.trust.issuer,
        audience: this.trust.audience,
        algorithms: [...this.trust.algorithms],
        maxTokenAge: this.trust.maxAgeSeconds,
        clockTolerance: this.trust.clockToleranceSeconds,
        requiredClaims: ['iss', 'aud', 'exp', 'iat', 'sub'],
      }));
    } catch (error) {
      throw verificationError(error);
    }
    // jose checks sub's type only when told which subject to expect (RFC 7519 4.1.2: a string).
    const subject = payload.sub as unknown;
    if (
      typeof subject !== 'string' ||
      subject.length === 0 ||
      subject.length > TOKEN_REQUEST_LIMITS.subject ||
      !PRINTABLE.test(subject)
    ) {
      throw invalid('the identity token sub is not a usable subject');
    }
    return {
      subject,
      issuer: this.trust.issuer,
      tokenId: typeof payload.jti === 'string' ? payload.jti.slice(0, 128) : undefined,
    };
  }

  /** The JWKS (fetched and cached by jose, bounded in time and size), or the configured PEM key. */
  private keyResolver(): JWTVerifyGetKey {
    if (this.keys) return this.keys;
    const { jwksUrl, certificate } = this.trust;
    if (jwksUrl) {
      const transport = this.options.fetch ?? fetch;
      const bounded: FetchImplementation = async (url, init) => {
        // jose's own timeout, and the request's deadline when it is nearer.
        const left = remainingMs();
        const signal = Number.isFinite(left)
          ? AbortSignal.any([init.signal, AbortSignal.timeout(Math.max(1, left))])
          : init.signal;
        const response = await transport(url, { ...init, signal });
        const text = await boundedText(response, MAX_JWKS_BYTES);
        return new Response(text, { status: response.status, headers: response.headers });
      };
      this.keys = createRemoteJWKSet(new URL(jwksUrl), {
        timeoutDuration: this.options.timeoutMs ?? 2_000,
        [customFetch]: bounded,
      });
      return this.keys;
    }
    // A PEM certificate (or SPKI public key) from a secret; read through the secret store's cache.
    this.keys = async (header) => {
      const pem = (await this.secrets.resolve(certificate!)).trim();
      // A value that is no public key at all is the operator's to fix, not the caller's: checked apart
      // from the import, which also fails when the token's alg does not fit the key (the token's fault).
      try {
        createPublicKey(pem);
      } catch (cause) {
        throw new GatewayError(
          'ERR_CONFIG_INVALID',
          'the trusted identity issuer certificate is not a PEM certificate or public key',
          { cause },
        );
      }
      const alg = header.alg ?? '';
      return pem.startsWith('-----BEGIN CERTIFICATE') ? importX509(pem, alg) : importSPKI(pem, alg);
    };
    return this.keys;
  }
}

/** Reads a body up to a limit, stopping (and cancelling the rest) as soon as it is exceeded. */
async function boundedText(response: Response, maxBytes: number): Promise<string> {
  const tooLarge = () => new errors.JWKSInvalid('the JWKS response is too large');
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Verification failures say why (safe: no token content); key source failures are "try again". */
function verificationError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return unavailable(error);
  if (error instanceof errors.JWTExpired) return invalid('the identity token has expired', error);
  if (error instanceof errors.JWTClaimValidationFailed) {
    return invalid(`the identity token ${error.claim} claim is not acceptable`, error);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return invalid('the identity token algorithm is not allowed', error);
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return invalid('no trusted key matches the identity token', error);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalid('the identity token signature is not valid', error);
  }
  if (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC') return unavailable(error);
  if (error instanceof errors.JOSEError) return invalid('the identity token is not a valid JWT', error);
  // fetch failing (network) or a key that cannot be imported.
  return error instanceof TypeError && /fetch/i.test(error.message)
    ? unavailable(error)
    : invalid('the identity token could not be verified', error);
}

function invalid(message: string, cause?: unknown): GatewayError {
  return new GatewayError('ERR_IDENTITY_TOKEN_INVALID', message, { cause });
}

function unavailable(cause: unknown): GatewayError {
  return new GatewayError(
    'ERR_IDENTITY_KEYS_UNAVAILABLE',
    "the identity token issuer's keys could not be read",
    {
      cause,
    },
  );
}
