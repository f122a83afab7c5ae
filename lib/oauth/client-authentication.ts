import { randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { signJwt } from '../assertion/sign-jwt.ts';
import type { ClientAuthenticationConfig } from '../config/schema.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { Signer } from '../signing/signer.ts';

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const CLIENT_ASSERTION_LIFETIME_SECONDS = 60;

/**
 * Builds the oauth4webapi `ClientAuth` function for a target. Secrets are resolved per request (the
 * secret store caches them), so a rotated secret is picked up without a restart.
 */
export function clientAuthentication(
  config: ClientAuthenticationConfig,
  secrets: SecretStore,
  signer: () => Signer,
): oauth.ClientAuth {
  switch (config.method) {
    case 'none':
      return oauth.None();
    case 'client_secret_basic':
      return async (_as, client, _body, headers) => {
        const secret = await secrets.resolve(config.secret);
        headers.set('authorization', basicAuthorization(client.client_id, secret, config.encoding));
      };
    case 'client_secret_post':
      return async (as, client, body, headers) =>
        oauth.ClientSecretPost(await secrets.resolve(config.secret))(as, client, body, headers);
    case 'private_key_jwt':
      return privateKeyJwt(signer, config.audience, config.explicitType);
  }
}

/**
 * The `client_secret_basic` header. `form` encodes id and secret as RFC 6749 2.3.1 says, but escapes
 * only what the form encoding must: oauth4webapi's own ClientSecretBasic also escapes the unreserved
 * `- . _ ~` (and `! * ' ( )`), so `gw-basic` went out as `gw%2Dbasic`, which servers that never decode
 * Basic credentials (Authlib 1.2, and others) refuse. `raw` sends both as they are (UTF-8), for those
 * servers when a secret holds characters that must be escaped.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 * @see https://www.rfc-editor.org/rfc/rfc7617#section-2
 */
export function basicAuthorization(clientId: string, secret: string, encoding: 'form' | 'raw'): string {
  const encode = encoding === 'raw' ? (value: string) => value : formEncodeCredential;
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`, 'utf8').toString('base64')}`;
}

/**
 * application/x-www-form-urlencoded for a credential: every byte but the RFC 3986 unreserved characters
 * is percent-encoded (UTF-8), space included (`%20` rather than `+`: decoders of either form read it).
 * @see https://www.rfc-editor.org/rfc/rfc6749#appendix-B
 */
function formEncodeCredential(value: string): string {
  // encodeURIComponent leaves unreserved characters and ! ' ( ) *; the latter five are escaped too.
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * `private_key_jwt` with the key in KMS: oauth4webapi's own `PrivateKeyJwt` needs an in-process
 * CryptoKey, so the client assertion is signed through the `Signer` port instead.
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-rfc7523bis/ (aud = issuer, explicit typ)
 */
export function privateKeyJwt(
  signer: () => Signer,
  audience: 'issuer' | 'token_endpoint',
  explicitType: boolean,
): oauth.ClientAuth {
  return async (as, client, body) => {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: client.client_id,
      sub: client.client_id,
      aud: audience === 'issuer' ? as.issuer : (as.token_endpoint ?? as.issuer),
      jti: randomUUID(),
      iat: now,
      exp: now + CLIENT_ASSERTION_LIFETIME_SECONDS,
    };
    const jwt = await signJwt(signer(), payload, explicitType ? { typ: 'client-authentication+jwt' } : {});
    body.set('client_id', client.client_id);
    body.set('client_assertion_type', CLIENT_ASSERTION_TYPE);
    body.set('client_assertion', jwt);
  };
}
