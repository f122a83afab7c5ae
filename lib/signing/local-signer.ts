import { constants, createPrivateKey, createPublicKey, type KeyObject, randomUUID, sign } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { GatewayError } from '../errors.ts';
import { onceUntilFailure } from '../once.ts';
import {
  type AlgorithmSpec,
  algorithmSpec,
  ecdsaAlgorithmForCurve,
  type JwsAlgorithm,
} from './algorithms.ts';
import { type DescribeOptions, describePublicKey } from './public-key.ts';
import type { Signer, SigningKeyDescription } from './signer.ts';

export interface LocalSignerOptions extends DescribeOptions {
  readonly id: string;
  /** A private key file: a JWK (JSON) or PEM (PKCS#8, SEC1 or PKCS#1). */
  readonly path: string;
  /** Create the file with a new key when it does not exist (the embedded default does this). */
  readonly generate?: boolean | undefined;
  /** For a generated key, its algorithm (default ES256); for an RSA key, RS* or PS* (default RS256). */
  readonly algorithm?: JwsAlgorithm | undefined;
}

interface LoadedKey {
  readonly privateKey: KeyObject;
  readonly spec: AlgorithmSpec;
  readonly description: SigningKeyDescription;
}

/**
 * Signs with a private key held in a local file, for laptops and tests. The same port as KMS, so the
 * rest of the gateway cannot tell them apart.
 */
export class LocalSigner implements Signer {
  readonly id: string;

  constructor(private readonly options: LocalSignerOptions) {
    this.id = options.id;
  }

  async describe(): Promise<SigningKeyDescription> {
    return (await this.load()).description;
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    const { privateKey, spec } = await this.load();
    switch (spec.family) {
      case 'ecdsa':
        return sign(spec.hash, signingInput, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      case 'rsa-pkcs1':
        return sign(spec.hash, signingInput, privateKey);
      case 'rsa-pss':
        // RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash.
        return sign(spec.hash, signingInput, {
          key: privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        });
    }
  }

  private readonly load = onceUntilFailure(() => this.readOrGenerate());

  private async readOrGenerate(): Promise<LoadedKey> {
    let text: string;
    try {
      text = await readFile(this.options.path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT' || !this.options.generate) {
        throw new GatewayError(
          'ERR_SIGNING_KEY_NOT_FOUND',
          `cannot read the key file of signing key "${this.id}" (${this.options.path})`,
          { cause },
        );
      }
      text = await this.generate();
    }
    const privateKey = parsePrivateKey(text, this.id);
    const spec = this.algorithmFor(privateKey);
    const description = await describePublicKey(createPublicKey(privateKey), spec.alg, this.options);
    return { privateKey, spec, description };
  }

  /**
   * Writes a new key with mode 0600. Two processes may start at once: the key is written to a private
   * temporary file and hard-linked into place, so exactly one wins and the other reads the winner's key.
   */
  private async generate(): Promise<string> {
    const alg = this.options.algorithm ?? 'ES256';
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...rsaModulus(alg) });
    const text = `${JSON.stringify({ ...(await exportJWK(privateKey)), alg })}\n`;
    await mkdir(dirname(this.options.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.options.path}.${randomUUID()}.tmp`;
    await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
    try {
      await link(temporary, this.options.path);
      return text;
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') throw cause;
      return readFile(this.options.path, 'utf8');
    } finally {
      await rm(temporary, { force: true });
    }
  }

  private algorithmFor(privateKey: KeyObject): AlgorithmSpec {
    const type = privateKey.asymmetricKeyType;
    let spec: AlgorithmSpec | undefined;
    if (type === 'ec') {
      const crv = privateKey.export({ format: 'jwk' }).crv ?? '';
      spec = ecdsaAlgorithmForCurve(crv);
    } else if (type === 'rsa') {
      spec = algorithmSpec(this.options.algorithm ?? 'RS256');
      if (spec.family === 'ecdsa') spec = undefined;
    }
    if (!spec || (this.options.algorithm && this.options.algorithm !== spec.alg)) {
      throw new GatewayError(
        'ERR_SIGNING_KEY_UNSUPPORTED',
        `signing key "${this.id}" (${type ?? 'unknown'} key) cannot sign with ${this.options.algorithm ?? 'any supported algorithm'}`,
      );
    }
    return spec;
  }
}

function rsaModulus(alg: JwsAlgorithm): { modulusLength?: number } {
  return alg.startsWith('ES') ? {} : { modulusLength: 2048 };
}

function parsePrivateKey(text: string, id: string): KeyObject {
  try {
    const trimmed = text.trim();
    return trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed), format: 'jwk' })
      : createPrivateKey(trimmed);
  } catch (cause) {
    // The cause is dropped on purpose: parser errors may quote the key material.
    void cause;
    throw new GatewayError(
      'ERR_SIGNING_KEY_UNSUPPORTED',
      `the key file of signing key "${id}" holds no private key`,
    );
  }
}
