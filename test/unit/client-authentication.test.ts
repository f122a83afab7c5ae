import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientAuthenticationConfig, SecretReference } from '#lib/config/schema.ts';
import { basicAuthorization, clientAuthentication, privateKeyJwt } from '#lib/oauth/client-authentication.ts';
import type { SecretStore } from '#lib/secrets/secret-store.ts';
import { LocalSigner } from '#lib/signing/local-signer.ts';
import type { Signer } from '#lib/signing/signer.ts';

const as: oauth.AuthorizationServer = {
  issuer: 'https://as.example',
  token_endpoint: 'https://as.example/oauth2/token',
};
const client: oauth.Client = { client_id: 'gw-basic' };

/** A secret store whose value can be rotated between requests; records what it was asked for. */
function rotatingSecrets(initial: string): SecretStore & { value: string; asked: SecretReference[] } {
  const store = {
    value: initial,
    asked: [] as SecretReference[],
    async resolve(reference: SecretReference): Promise<string> {
      store.asked.push(reference);
      return store.value;
    },
  };
  return store;
}

const noSigner = (): Signer => {
  throw new Error('no signer expected for this method');
};

/** Runs a ClientAuth as oauth4webapi would before sending the token request; returns what it set. */
async function apply(
  auth: oauth.ClientAuth,
  server: oauth.AuthorizationServer = as,
): Promise<{ body: Record<string, string>; headers: Record<string, string> }> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  const headers = new Headers();
  await auth(server, client, body, headers);
  body.delete('grant_type');
  return { body: Object.fromEntries(body), headers: Object.fromEntries(headers) };
}

/** The `user:password` inside a Basic authorization header. */
function basicCredentials(header: string | undefined): string {
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  return Buffer.from(header!.slice('Basic '.length), 'base64').toString('utf8');
}

describe('clientAuthentication', () => {
  const secretRef = { env: 'GW_SECRET' };

  it('none: sends only client_id in the body (RFC 6749 2.3, public client)', async () => {
    // Act
    const sent = await apply(clientAuthentication({ method: 'none' }, rotatingSecrets('x'), noSigner));

    // Assess
    expect(sent).toEqual({ body: { client_id: 'gw-basic' }, headers: {} });
  });

  describe('client_secret_basic', () => {
    it('sends the credentials in the Authorization header only, never the secret in the body', async () => {
      // Prepare
      const secrets = rotatingSecrets('s3cret');
      const config: ClientAuthenticationConfig = {
        method: 'client_secret_basic',
        secret: secretRef,
        encoding: 'form',
      };

      // Act
      const sent = await apply(clientAuthentication(config, secrets, noSigner));

      // Assess
      expect(sent.body).toEqual({});
      expect(Object.keys(sent.headers)).toEqual(['authorization']);
      expect(basicCredentials(sent.headers.authorization)).toBe('gw-basic:s3cret');
      expect(secrets.asked).toEqual([secretRef]);
    });

    it('resolves the secret on every request, so a rotated secret is used without a restart', async () => {
      // Prepare
      const secrets = rotatingSecrets('old');
      const auth = clientAuthentication(
        { method: 'client_secret_basic', secret: secretRef, encoding: 'raw' },
        secrets,
        noSigner,
      );

      // Act
      const first = await apply(auth);
      secrets.value = 'new';
      const second = await apply(auth);

      // Assess
      expect(basicCredentials(first.headers.authorization)).toBe('gw-basic:old');
      expect(basicCredentials(second.headers.authorization)).toBe('gw-basic:new');
    });
  });

  it('client_secret_post: sends client_id and client_secret in the body, no Authorization header', async () => {
    // Prepare
    const secrets = rotatingSecrets('p0st');

    // Act
    const sent = await apply(
      clientAuthentication({ method: 'client_secret_post', secret: secretRef }, secrets, noSigner),
    );

    // Assess
    expect(sent).toEqual({ body: { client_id: 'gw-basic', client_secret: 'p0st' }, headers: {} });
    expect(secrets.asked).toEqual([secretRef]);
  });

  it('private_key_jwt: sends a signed client assertion in the body', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'client-auth-'));
    try {
      const signer = new LocalSigner({ id: 'k', path: join(dir, 'k.json'), generate: true });
      const config: ClientAuthenticationConfig = {
        method: 'private_key_jwt',
        audience: 'token_endpoint',
        explicitType: false,
      };

      // Act
      const sent = await apply(clientAuthentication(config, rotatingSecrets('unused'), () => signer));

      // Assess
      expect(sent.headers).toEqual({});
      expect(Object.keys(sent.body).sort()).toEqual([
        'client_assertion',
        'client_assertion_type',
        'client_id',
      ]);
      expect(sent.body.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      const jwks = createLocalJWKSet({ keys: [(await signer.describe()).publicJwk] });
      const { payload } = await jwtVerify(sent.body.client_assertion!, jwks, {
        audience: as.token_endpoint!,
      });
      expect(payload.iss).toBe('gw-basic');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('basicAuthorization', () => {
  it('form: escapes what RFC 6749 2.3.1 form-encoding must, never the unreserved - . _ ~', () => {
    // Act
    const header = basicAuthorization('gw-basic.x_y~z', "a b:c!d'e(f)g*h!*é%/+", 'form');

    // Assess: each of ! ' ( ) * escaped, every occurrence, in upper-case hex; UTF-8 for é.
    expect(basicCredentials(header)).toBe(
      'gw-basic.x_y~z:a%20b%3Ac%21d%27e%28f%29g%2Ah%21%2A%C3%A9%25%2F%2B',
    );
  });

  it('form: a colon in the client id is escaped, so the server still splits id and secret right', () => {
    expect(basicCredentials(basicAuthorization('a:b', 'c', 'form'))).toBe('a%3Ab:c');
  });

  it('raw: sends id and secret as they are, in UTF-8', () => {
    // Act
    const header = basicAuthorization('gw-basic', "a b!*'()é%", 'raw');

    // Assess
    expect(header).toBe(`Basic ${Buffer.from("gw-basic:a b!*'()é%", 'utf8').toString('base64')}`);
  });
});

describe('privateKeyJwt', () => {
  let dir: string;
  let signer: LocalSigner;
  let jwks: ReturnType<typeof createLocalJWKSet>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'private-key-jwt-'));
    signer = new LocalSigner({ id: 'k', path: join(dir, 'k.json'), generate: true });
    jwks = createLocalJWKSet({ keys: [(await signer.describe()).publicJwk] });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('signs iss = sub = client_id, a fresh jti, iat now and exp 60 seconds later (RFC 7523 3)', async () => {
    // Prepare
    const auth = privateKeyJwt(() => signer, 'token_endpoint', false);
    const before = Math.floor(Date.now() / 1000);

    // Act
    const first = await apply(auth);
    const second = await apply(auth);
    const after = Math.floor(Date.now() / 1000);

    // Assess
    const claims = [];
    for (const sent of [first, second]) {
      expect(sent.body.client_id).toBe('gw-basic');
      const { payload } = await jwtVerify(sent.body.client_assertion!, jwks, {
        issuer: 'gw-basic',
        subject: 'gw-basic',
        audience: 'https://as.example/oauth2/token',
      });
      expect(payload.iat).toBeGreaterThanOrEqual(before);
      expect(payload.iat).toBeLessThanOrEqual(after);
      expect(payload.exp).toBe(payload.iat! + 60);
      expect(payload.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
      claims.push(payload);
    }
    expect(claims[0]!.jti).not.toBe(claims[1]!.jti);
  });

  it('audience issuer: aud is the issuer (draft-ietf-oauth-rfc7523bis)', async () => {
    // Act
    const sent = await apply(privateKeyJwt(() => signer, 'issuer', false));

    // Assess
    const { payload } = await jwtVerify(sent.body.client_assertion!, jwks);
    expect(payload.aud).toBe('https://as.example');
  });

  it('audience token_endpoint: falls back to the issuer when the server names no token endpoint', async () => {
    // Act
    const sent = await apply(
      privateKeyJwt(() => signer, 'token_endpoint', false),
      {
        issuer: 'https://other.example',
      },
    );

    // Assess
    const { payload } = await jwtVerify(sent.body.client_assertion!, jwks);
    expect(payload.aud).toBe('https://other.example');
  });

  it('explicit type: typ is client-authentication+jwt; otherwise no typ at all', async () => {
    // Act
    const typed = await apply(privateKeyJwt(() => signer, 'issuer', true));
    const untyped = await apply(privateKeyJwt(() => signer, 'issuer', false));

    // Assess
    expect(decodeProtectedHeader(typed.body.client_assertion!).typ).toBe('client-authentication+jwt');
    expect(decodeProtectedHeader(untyped.body.client_assertion!)).not.toHaveProperty('typ');
  });
});
