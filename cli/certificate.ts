// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import { createPublicKey, type JsonWebKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { algorithmSpec, type JwsAlgorithm } from '#lib/signing/algorithms.ts';
import type { Signer } from '#lib/signing/signer.ts';

/**
 * X.509 certificates and CSRs for a signing key whose private half never leaves KMS: @peculiar/x509 builds
 * and encodes them, and signs through a WebCrypto-shaped provider whose only private operation is the
 * gateway's own Signer (KMS Sign, or a local key). The library turns the WebCrypto-form signature (R||S for
 * ECDSA, which is also the JWS form the Signer returns) into the DER that X.509 wants.
 */
export interface CertificateRequest {
  readonly signer: Signer;
  /** An RFC 4514 distinguished name, e.g. `CN=jwt-bearer-gateway prod, O=Example Corp`. */
  readonly subject: string;
  /** Validity of a self-signed certificate. */
  readonly days: number;
  readonly now?: Date;
}

type KeyHandle = webcrypto.CryptoKey;
const HASHES = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const;

/** The WebCrypto algorithm of a JWS algorithm, as @peculiar/x509 reads it from the signing key. */
function webCryptoAlgorithm(alg: JwsAlgorithm): x509.HashedAlgorithm & Record<string, unknown> {
  const spec = algorithmSpec(alg);
  const hash = { name: HASHES[spec.hash] };
  switch (spec.family) {
    case 'ecdsa':
      return { name: 'ECDSA', hash, namedCurve: spec.curve?.jwkCrv };
    case 'rsa-pkcs1':
      return { name: 'RSASSA-PKCS1-v1_5', hash };
    case 'rsa-pss':
      // RFC 7518 3.5: the salt is as long as the hash.
      return { name: 'RSA-PSS', hash, saltLength: spec.digestLength };
  }
}

/**
 * Handles for the key pair, and the provider that knows them: `exportKey` gives the public key's SPKI,
 * `sign` asks the Signer. Everything else (digests, random serial numbers) is Node's WebCrypto.
 */
async function keysOf(signer: Signer) {
  const { publicJwk, alg } = await signer.describe();
  const spki = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' }).export({
    type: 'spki',
    format: 'der',
  });
  const algorithm = webCryptoAlgorithm(alg);
  const handle = (type: 'public' | 'private', usages: string[]) =>
    ({ algorithm, type, extractable: type === 'public', usages }) as unknown as KeyHandle;
  const publicKey = handle('public', ['verify']);
  const privateKey = handle('private', ['sign']);
  const subtle = {
    exportKey: async (format: string, key: KeyHandle) => {
      if (format !== 'spki' || key !== publicKey) throw new Error('only the public key is exported, as SPKI');
      return new Uint8Array(spki).buffer;
    },
    digest: (algo: string | { name: string }, data: ArrayBuffer | ArrayBufferView) =>
      webcrypto.subtle.digest(algo, data as ArrayBuffer),
    sign: async (_: unknown, key: KeyHandle, data: ArrayBuffer | ArrayBufferView) => {
      if (key !== privateKey) throw new Error('only the gateway signing key signs here');
      const bytes = ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : new Uint8Array(data);
      const signature = await signer.sign(bytes);
      return signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength);
    },
  };
  const crypto = {
    subtle,
    getRandomValues: <T extends ArrayBufferView>(array: T) => webcrypto.getRandomValues(array as never) as T,
  } as never; // the subset of Crypto @peculiar/x509 calls
  return { publicKey, privateKey, algorithm, crypto };
}

/** A self-signed certificate for the key, valid `days` from a minute ago (clock skew). */
export async function selfSignedCertificate(request: CertificateRequest): Promise<string> {
  const { publicKey, privateKey, algorithm, crypto } = await keysOf(request.signer);
  const notBefore = new Date((request.now ?? new Date()).getTime() - 60_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: request.subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + request.days * 86_400_000),
      signingAlgorithm: algorithm,
      keys: { publicKey, privateKey },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    },
    crypto,
  );
  return certificate.toString('pem');
}

/** A PKCS #10 certificate signing request for the key, for a CA to issue its certificate from. */
export async function certificateSigningRequest(request: Omit<CertificateRequest, 'days'>): Promise<string> {
  const { publicKey, privateKey, algorithm, crypto } = await keysOf(request.signer);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: request.subject,
      signingAlgorithm: algorithm,
      keys: { publicKey, privateKey },
      extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
    },
    crypto,
  );
  return csr.toString('pem');
}
