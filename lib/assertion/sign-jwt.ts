import type { JWTPayload } from 'jose';
import type { Signer } from '../signing/signer.ts';

export interface JwtHeaderOptions {
  /** The JOSE `typ` header, e.g. `JWT` or `client-authentication+jwt`. Omitted when undefined. */
  readonly typ?: string | undefined;
  /** Add `x5t#S256` when the key has a certificate. */
  readonly includeX5tS256?: boolean | undefined;
}

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array | string): string {
  return Buffer.from(typeof bytes === 'string' ? encoder.encode(bytes) : bytes).toString('base64url');
}

/**
 * Assembles a JWS compact serialization around a remote signature. jose's `SignJWT` needs the private key
 * in process, which a KMS key never is, so the three parts are joined here and only the signature comes
 * from the `Signer`.
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-7.1
 */
export async function signJwt(
  signer: Signer,
  payload: JWTPayload,
  options: JwtHeaderOptions = {},
): Promise<string> {
  const key = await signer.describe();
  const header: Record<string, string> = { alg: key.alg, kid: key.kid };
  if (options.typ) header.typ = options.typ;
  if (options.includeX5tS256 && key.x5tS256) header['x5t#S256'] = key.x5tS256;
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = await signer.sign(encoder.encode(signingInput));
  return `${signingInput}.${base64url(signature)}`;
}
