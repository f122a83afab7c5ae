import { type CryptoKey, generateKeyPair } from 'jose';

/** How a test signs an identity token: claims over its defaults, and the header and times to use. */
export type SignIdentityToken = (
  claims?: Record<string, unknown>,
  options?: { key?: CryptoKey; kid?: string; issuedAt?: number; expiresAt?: number | string },
) => Promise<string>;

/**
 * The identity tokens every route that takes one (the RFC 8693 facade's `subject_token`, proxy mode's
 * `x-subject-token`) must refuse before anything reaches an authorization server or an API: expired,
 * foreign issuer or audience, too old, `alg: none`, an unknown kid, a foreign key under a published kid,
 * no JWT at all, and a `sub` that is no string. `claims` are the valid token's own, for the unsigned one.
 */
export function identityTokenRefusals(
  sign: SignIdentityToken,
  claims: { iss: string; aud: string; sub: string },
): Array<[string, () => Promise<string>]> {
  const now = () => Math.floor(Date.now() / 1000);
  return [
    ['an expired token', () => sign({}, { issuedAt: now() - 200, expiresAt: now() - 100 })],
    ['a wrong issuer', () => sign({ iss: 'https://evil.example.com' })],
    ['a wrong audience', () => sign({ aud: 'someone-else' })],
    ['a token older than maxAgeSeconds', () => sign({}, { issuedAt: now() - 3600, expiresAt: now() + 600 })],
    [
      'alg none',
      async () => {
        const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
        return `${part({ alg: 'none', typ: 'JWT' })}.${part({ ...claims, iat: now(), exp: now() + 60 })}.`;
      },
    ],
    [
      'an unknown kid',
      async () => sign({}, { key: (await generateKeyPair('ES256')).privateKey, kid: 'not-published' }),
    ],
    [
      'a signature by another key under the published kid',
      async () => sign({}, { key: (await generateKeyPair('ES256')).privateKey }),
    ],
    ['a token that is no JWT', async () => 'not-a-jwt'],
    // RFC 7519 4.1.2: sub is a string; a number, object or boolean is no user id (it was a 500).
    ['a numeric sub', () => sign({ sub: 12345678 })],
    ['an object sub', () => sign({ sub: { user: 'CICSUSR1' } })],
    ['a boolean sub', () => sign({ sub: true })],
    ['an array sub', () => sign({ sub: ['CICSUSR1'] })],
  ];
}
