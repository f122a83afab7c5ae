import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KMSClient,
  SignCommand,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { awsErrorName, awsFailureKind } from '../aws/aws-errors.ts';
import { type AwsCallLimits, awsCallOptions, KMS_CALL_LIMITS } from '../aws/call-limits.ts';
import { GatewayError } from '../errors.ts';
import { onceUntilFailure } from '../once.ts';
import {
  type AlgorithmSpec,
  algorithmSpec,
  ecdsaAlgorithmForCurve,
  ecdsaAlgorithmForKmsKeySpec,
  type JwsAlgorithm,
} from './algorithms.ts';
import { derToJoseSignature } from './ecdsa-der.ts';
import { type DescribeOptions, describePublicKey } from './public-key.ts';
import type { Signer, SigningKeyDescription } from './signer.ts';

export interface KmsSignerOptions extends DescribeOptions {
  /** The key's name in the configuration. */
  readonly id: string;
  /** Key id, key ARN, alias name (`alias/...`) or alias ARN. */
  readonly keyId: string;
  /** For RSA keys, which JWS algorithm to use (default RS256). ECDSA keys imply theirs. */
  readonly algorithm?: JwsAlgorithm | undefined;
  /** Bounds on each KMS call (the request's deadline bounds it too). */
  readonly callLimits?: AwsCallLimits | undefined;
}

interface ResolvedKey {
  readonly description: SigningKeyDescription;
  readonly spec: AlgorithmSpec;
  /** The key ARN GetPublicKey resolved the configured reference (possibly an alias) to. */
  readonly keyArn: string;
}

/**
 * Signs in AWS KMS: the private key never leaves it. The signing input is hashed here and sent with
 * `MessageType: DIGEST`, so any size of JWT fits the 4 KiB message limit and only the digest crosses
 * the wire; ECDSA's DER answer is converted to JOSE's R||S.
 * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
 */
export class KmsSigner implements Signer {
  readonly id: string;

  constructor(
    private readonly kms: KMSClient,
    private readonly options: KmsSignerOptions,
  ) {
    this.id = options.id;
  }

  async describe(): Promise<SigningKeyDescription> {
    return (await this.resolve()).description;
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    const { spec, keyArn } = await this.resolve();
    const digest = createHash(spec.hash).update(signingInput).digest();
    let signature: Uint8Array | undefined;
    try {
      const output = await this.kms.send(
        new SignCommand({
          // The key that was described, even if an alias has moved since: the kid must match the signature.
          KeyId: keyArn,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: spec.kmsSigningAlgorithm as SigningAlgorithmSpec,
        }),
        awsCallOptions(this.options.callLimits ?? KMS_CALL_LIMITS),
      );
      signature = output.Signature;
    } catch (cause) {
      throw kmsError(cause, this.options.id, 'Sign');
    }
    if (!signature) throw new GatewayError('ERR_SIGNING_UNAVAILABLE', `KMS Sign returned no signature`);
    return spec.curve ? derToJoseSignature(signature, spec.curve.coordinateLength) : signature;
  }

  /** One GetPublicKey per container; a failure is not cached, so the next request tries again. */
  private readonly resolve = onceUntilFailure(() => this.fetchPublicKey());

  private async fetchPublicKey(): Promise<ResolvedKey> {
    let output: GetPublicKeyCommandOutput;
    try {
      output = await this.kms.send(
        new GetPublicKeyCommand({ KeyId: this.options.keyId }),
        awsCallOptions(this.options.callLimits ?? KMS_CALL_LIMITS),
      );
    } catch (cause) {
      throw kmsError(cause, this.options.id, 'GetPublicKey');
    }
    if (output.KeyUsage !== 'SIGN_VERIFY' || !output.PublicKey) {
      throw new GatewayError(
        'ERR_SIGNING_KEY_UNUSABLE',
        `signing key "${this.options.id}" is not a SIGN_VERIFY key (KeyUsage ${output.KeyUsage})`,
      );
    }
    const publicKey = createPublicKey({ key: Buffer.from(output.PublicKey), format: 'der', type: 'spki' });
    const keySpec = output.KeySpec ?? kmsKeySpecOf(publicKey);
    const spec = this.algorithmFor(keySpec, output.SigningAlgorithms ?? []);
    const description = await describePublicKey(publicKey, spec.alg, this.options);
    return { description, spec, keyArn: output.KeyId ?? this.options.keyId };
  }

  private algorithmFor(keySpec: string, allowed: readonly string[]): AlgorithmSpec {
    const spec = keySpec.startsWith('ECC_NIST_')
      ? ecdsaAlgorithmForKmsKeySpec(keySpec)
      : keySpec.startsWith('RSA_')
        ? algorithmSpec(this.options.algorithm ?? 'RS256')
        : undefined;
    if (!spec || !allowed.includes(spec.kmsSigningAlgorithm)) {
      const wanted = spec ? ` with ${spec.alg}` : '';
      throw new GatewayError(
        'ERR_SIGNING_KEY_UNSUPPORTED',
        `signing key "${this.options.id}" (KMS key spec ${keySpec}) cannot sign${wanted}`,
      );
    }
    if (this.options.algorithm && this.options.algorithm !== spec.alg) {
      throw new GatewayError(
        'ERR_SIGNING_KEY_UNSUPPORTED',
        `signing key "${this.options.id}" is ${keySpec}, which signs ${spec.alg}, not ${this.options.algorithm}`,
      );
    }
    return spec;
  }
}

/**
 * The KMS key spec a public key implies. Some AWS-compatible endpoints answer GetPublicKey without
 * `KeySpec`; the SPKI says the same thing (curve or modulus size), so the key stays usable.
 * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html
 */
function kmsKeySpecOf(publicKey: KeyObject): string {
  if (publicKey.asymmetricKeyType === 'rsa') return `RSA_${publicKey.asymmetricKeyDetails?.modulusLength}`;
  if (publicKey.asymmetricKeyType !== 'ec') return '';
  const crv = (publicKey.export({ format: 'jwk' }) as { crv?: string }).crv;
  return (crv ? ecdsaAlgorithmForCurve(crv) : undefined)?.curve?.kmsKeySpec ?? '';
}

const NOT_FOUND = new Set(['NotFoundException']);
/**
 * UnsupportedOperationException is what GetPublicKey answers for a symmetric key (it has no public half):
 * the key exists but can never sign, which is no reason to retry.
 */
const UNUSABLE = new Set([
  'DisabledException',
  'KMSInvalidStateException',
  'InvalidKeyUsageException',
  'UnsupportedOperationException',
]);

/**
 * Maps an AWS SDK error to a typed gateway error by the shared AWS policy; the AWS error stays as `cause`.
 * KMS refusals other than a missing or unusable key (access denied, say) stay `ERR_SIGNING_UNAVAILABLE`.
 */
function kmsError(cause: unknown, keyName: string, operation: string): GatewayError {
  const awsName = awsErrorName(cause);
  const what = `KMS ${operation} for signing key "${keyName}" failed (${awsName})`;
  const kind = awsFailureKind(cause);
  if (kind === 'configuration') return new GatewayError('ERR_AWS_UNCONFIGURED', what, { cause });
  if (kind === 'refused' && NOT_FOUND.has(awsName))
    return new GatewayError('ERR_SIGNING_KEY_NOT_FOUND', what, { cause });
  if (kind === 'refused' && UNUSABLE.has(awsName))
    return new GatewayError('ERR_SIGNING_KEY_UNUSABLE', what, { cause });
  return new GatewayError('ERR_SIGNING_UNAVAILABLE', what, { cause });
}
