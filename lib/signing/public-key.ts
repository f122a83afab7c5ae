import { createHash, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { GatewayError } from '../errors.ts';
import type { JwsAlgorithm } from './algorithms.ts';
import type { SigningKeyDescription } from './signer.ts';

export interface DescribeOptions {
  /** Overrides the default `kid` (the RFC 7638 thumbprint). */
  readonly kid?: string | undefined;
  /** PEM file of an X.509 certificate for this key, published as `x5t#S256`. */
  readonly certificateFile?: string | undefined;
}

/**
 * Turns a public key into the description adapters share: JWK, `kid` (RFC 7638 thumbprint unless
 * overridden) and, if a certificate is configured, its `x5t#S256`.
 * @see https://www.rfc-editor.org/rfc/rfc7638
 */
export async function describePublicKey(
  publicKey: KeyObject,
  alg: JwsAlgorithm,
  options: DescribeOptions,
): Promise<SigningKeyDescription> {
  const jwk = await exportJWK(publicKey);
  const kid = options.kid ?? (await calculateJwkThumbprint(jwk, 'sha256'));
  const x5tS256 = options.certificateFile
    ? await certificateThumbprint(options.certificateFile, publicKey)
    : undefined;
  return {
    alg,
    kid,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    ...(x5tS256 ? { x5tS256 } : {}),
  };
}

async function certificateThumbprint(file: string, publicKey: KeyObject): Promise<string> {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(await readFile(file));
  } catch (cause) {
    throw new GatewayError('ERR_CONFIG_INVALID', `cannot read the X.509 certificate ${file}`, { cause });
  }
  if (!certificate.publicKey.equals(publicKey)) {
    throw new GatewayError('ERR_CONFIG_INVALID', `the certificate ${file} is not for this signing key`);
  }
  return createHash('sha256').update(certificate.raw).digest('base64url');
}
