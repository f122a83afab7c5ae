import { createHash, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { GatewayError, isGatewayError } from '../errors.ts';
import type { JwsAlgorithm } from './algorithms.ts';
import type { SigningKeyDescription } from './signer.ts';

export interface DescribeOptions {
  /** Overrides the default `kid` (the RFC 7638 thumbprint). */
  readonly kid?: string | undefined;
  /** PEM file of an X.509 certificate for this key, published as `x5t#S256`. */
  readonly certificateFile?: string | undefined;
  /** Or the certificate from elsewhere (Secrets Manager): `label` names it in errors. */
  readonly certificate?: { readonly label: string; readonly load: () => Promise<string> } | undefined;
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
  const file = options.certificateFile;
  const source =
    options.certificate ?? (file ? { label: file, load: () => readFile(file, 'utf8') } : undefined);
  const x5tS256 = source ? await certificateThumbprint(source, publicKey) : undefined;
  return {
    alg,
    kid,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    ...(x5tS256 ? { x5tS256 } : {}),
  };
}

async function certificateThumbprint(
  source: NonNullable<DescribeOptions['certificate']>,
  publicKey: KeyObject,
): Promise<string> {
  let pem: string;
  try {
    pem = await source.load();
  } catch (cause) {
    // A Secrets Manager outage keeps its own code (retryable); a missing file is a configuration error.
    if (isGatewayError(cause)) throw cause;
    throw new GatewayError('ERR_CONFIG_INVALID', `cannot read the X.509 certificate ${source.label}`, {
      cause,
    });
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (cause) {
    throw new GatewayError('ERR_CONFIG_INVALID', `${source.label} is not a PEM X.509 certificate`, { cause });
  }
  if (!certificate.publicKey.equals(publicKey)) {
    throw new GatewayError(
      'ERR_CONFIG_INVALID',
      `the certificate ${source.label} is not for this signing key`,
    );
  }
  return createHash('sha256').update(certificate.raw).digest('base64url');
}
