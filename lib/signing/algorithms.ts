/**
 * The JWS algorithms the gateway signs with, one row each: which hash the signing input takes, which
 * KMS key specs and signing algorithm produce it, and (ECDSA) the fixed width of R and S.
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1
 */
export type JwsAlgorithm =
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512';

type HashName = 'sha256' | 'sha384' | 'sha512';

export interface AlgorithmSpec {
  readonly alg: JwsAlgorithm;
  readonly hash: HashName;
  /** Digest length in bytes; KMS checks a DIGEST message against it. */
  readonly digestLength: number;
  readonly kmsSigningAlgorithm: string;
  readonly family: 'ecdsa' | 'rsa-pkcs1' | 'rsa-pss';
  /** ECDSA only: the KMS key spec of the curve, and the width of R (and of S) in a JWS signature. */
  readonly curve?: {
    readonly kmsKeySpec: string;
    readonly jwkCrv: string;
    readonly coordinateLength: number;
  };
}

const ROWS: readonly AlgorithmSpec[] = [
  {
    alg: 'ES256',
    hash: 'sha256',
    digestLength: 32,
    kmsSigningAlgorithm: 'ECDSA_SHA_256',
    family: 'ecdsa',
    curve: { kmsKeySpec: 'ECC_NIST_P256', jwkCrv: 'P-256', coordinateLength: 32 },
  },
  {
    alg: 'ES384',
    hash: 'sha384',
    digestLength: 48,
    kmsSigningAlgorithm: 'ECDSA_SHA_384',
    family: 'ecdsa',
    curve: { kmsKeySpec: 'ECC_NIST_P384', jwkCrv: 'P-384', coordinateLength: 48 },
  },
  {
    alg: 'ES512',
    hash: 'sha512',
    digestLength: 64,
    kmsSigningAlgorithm: 'ECDSA_SHA_512',
    family: 'ecdsa',
    curve: { kmsKeySpec: 'ECC_NIST_P521', jwkCrv: 'P-521', coordinateLength: 66 },
  },
  {
    alg: 'RS256',
    hash: 'sha256',
    digestLength: 32,
    kmsSigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
    family: 'rsa-pkcs1',
  },
  {
    alg: 'RS384',
    hash: 'sha384',
    digestLength: 48,
    kmsSigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_384',
    family: 'rsa-pkcs1',
  },
  {
    alg: 'RS512',
    hash: 'sha512',
    digestLength: 64,
    kmsSigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_512',
    family: 'rsa-pkcs1',
  },
  {
    alg: 'PS256',
    hash: 'sha256',
    digestLength: 32,
    kmsSigningAlgorithm: 'RSASSA_PSS_SHA_256',
    family: 'rsa-pss',
  },
  {
    alg: 'PS384',
    hash: 'sha384',
    digestLength: 48,
    kmsSigningAlgorithm: 'RSASSA_PSS_SHA_384',
    family: 'rsa-pss',
  },
  {
    alg: 'PS512',
    hash: 'sha512',
    digestLength: 64,
    kmsSigningAlgorithm: 'RSASSA_PSS_SHA_512',
    family: 'rsa-pss',
  },
];

const ALGORITHMS: ReadonlyMap<JwsAlgorithm, AlgorithmSpec> = new Map(ROWS.map((row) => [row.alg, row]));

export const JWS_ALGORITHMS = ROWS.map((row) => row.alg) as readonly JwsAlgorithm[];

export function algorithmSpec(alg: JwsAlgorithm): AlgorithmSpec {
  const spec = ALGORITHMS.get(alg);
  if (!spec) throw new TypeError(`unsupported JWS algorithm ${alg}`);
  return spec;
}

/** The ECDSA algorithm a curve implies (RFC 7518 3.4 pairs each curve with one hash). */
export function ecdsaAlgorithmForKmsKeySpec(kmsKeySpec: string): AlgorithmSpec | undefined {
  return ROWS.find((row) => row.curve?.kmsKeySpec === kmsKeySpec);
}

/** The ECDSA algorithm for a JWK `crv`. */
export function ecdsaAlgorithmForCurve(crv: string): AlgorithmSpec | undefined {
  return ROWS.find((row) => row.curve?.jwkCrv === crv);
}
