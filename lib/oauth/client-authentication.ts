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
      // oauth4webapi form-urlencodes id and secret before base64, as RFC 6749 2.3.1 requires.
      return async (as, client, body, headers) =>
        oauth.ClientSecretBasic(await secrets.resolve(config.secret))(as, client, body, headers);
    case 'client_secret_post':
      return async (as, client, body, headers) =>
        oauth.ClientSecretPost(await secrets.resolve(config.secret))(as, client, body, headers);
    case 'private_key_jwt':
      return privateKeyJwt(signer, config.audience, config.explicitType);
  }
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
