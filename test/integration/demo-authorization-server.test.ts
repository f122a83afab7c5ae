import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DemoAuthorizationServer,
  startDemoAuthorizationServer,
} from '../../lib/local/demo-authorization-server.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

// ':' '+' '%' and a space: sent raw in HTTP Basic they would be mis-split or mis-decoded (RFC 6749 2.3.1).
const GATEWAY = { client_id: 'gateway:eu+1%', client_secret: 's3cr:t+/%41 ==' };
const POST_CLIENT = { client_id: 'post-client', client_secret: 'post-secret' };
const PASSWORD_CLIENT = { client_id: 'password-client', client_secret: 'password-secret' };
const SERVICE = { client_id: 'service', client_secret: 'service-secret' };
const RESOURCE_SERVER = { client_id: 'resource-server', client_secret: 'rs-secret' };
const PKJWT_CLIENT_ID = 'pkjwt-client';
const PUBLIC_CLIENT_ID = 'public-client';
const STATIC_ISSUER = 'static-issuer';
/** Trusted, but its JWKS URL answers 404. */
const UNREACHABLE_ISSUER = 'unreachable-issuer';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

interface Keys {
  es256: KeyPair;
  ps256: KeyPair;
  /** Never published: signatures made with it must be refused. */
  rogue: KeyPair;
  clientAuth: KeyPair;
}

interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
}

let keys: Keys;
let jwksServer: Server;
let as: DemoAuthorizationServer;

beforeAll(async () => {
  keys = {
    es256: await generateKeyPair('ES256'),
    ps256: await generateKeyPair('PS256'),
    rogue: await generateKeyPair('ES256'),
    clientAuth: await generateKeyPair('ES256'),
  };
  const gatewayJwks = {
    keys: [await publicJwk(keys.es256, 'es-1', 'ES256'), await publicJwk(keys.ps256, 'ps-1', 'PS256')],
  };
  const clientJwks = { keys: [await publicJwk(keys.clientAuth, 'client-1', 'ES256')] };
  jwksServer = await serveJson({ '/.well-known/jwks.json': gatewayJwks, '/client-jwks.json': clientJwks });
  const jwksBase = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;

  as = await startDemoAuthorizationServer({
    clients: [
      {
        ...GATEWAY,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [JWT_BEARER, TOKEN_EXCHANGE, 'refresh_token'],
        scope: 'api:read api:write',
      },
      {
        ...POST_CLIENT,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: [JWT_BEARER],
        scope: 'api:read',
      },
      {
        client_id: PKJWT_CLIENT_ID,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: `${jwksBase}/client-jwks.json`,
        grant_types: [JWT_BEARER],
        scope: 'api:read',
      },
      {
        ...PASSWORD_CLIENT,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['password', 'refresh_token'],
        scope: 'api:read',
      },
      {
        ...SERVICE,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        scope: 'api:read',
      },
      { client_id: PUBLIC_CLIENT_ID, token_endpoint_auth_method: 'none', grant_types: [JWT_BEARER] },
      { ...RESOURCE_SERVER, token_endpoint_auth_method: 'client_secret_basic', grant_types: [] },
    ],
    trustedIssuers: [
      {
        issuer: GATEWAY.client_id,
        jwksUri: `${jwksBase}/.well-known/jwks.json`,
        clientIds: [GATEWAY.client_id, PKJWT_CLIENT_ID, PUBLIC_CLIENT_ID],
      },
      { issuer: STATIC_ISSUER, jwks: { keys: [gatewayJwks.keys[0]!] }, clientIds: [POST_CLIENT.client_id] },
      { issuer: UNREACHABLE_ISSUER, jwksUri: `${jwksBase}/missing.json`, clientIds: [GATEWAY.client_id] },
    ],
    users: { alice: 'wonderland' },
    issueRefreshTokens: true,
  });
});

afterAll(async () => {
  await as?.close();
  if (jwksServer?.listening) {
    jwksServer.close();
    jwksServer.closeAllConnections();
  }
});

describe('DemoAuthorizationServer', () => {
  describe('jwt-bearer grant', () => {
    it('issues an access token whose introspection shows the assertion subject', async () => {
      // Prepare
      const assertion = await signAssertion();

      // Act
      const response = await jwtBearer(assertion, { scope: 'api:read' });
      const introspection = await as.introspect(String(response.body.access_token), RESOURCE_SERVER);

      // Assess
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'api:read' });
      expect(introspection).toMatchObject({
        active: true,
        sub: 'user-123',
        client_id: GATEWAY.client_id,
        scope: 'api:read',
      });
      expect(introspection.exp).toEqual(expect.any(Number));
    });

    it('accepts the issuer identifier as audience', async () => {
      // Prepare
      const assertion = await signAssertion({ claims: { aud: as.issuer } });

      // Act
      const response = await jwtBearer(assertion);

      // Assess
      expect(response.status).toBe(200);
      expect(response.body.access_token).toEqual(expect.any(String));
    });

    it('accepts an assertion signed with PS256', async () => {
      // Prepare
      const assertion = await signAssertion({ key: keys.ps256, alg: 'PS256', kid: 'ps-1' });

      // Act
      const response = await jwtBearer(assertion);

      // Assess
      expect(response.status).toBe(200);
    });

    it('grants the client registered scope when no scope is requested', async () => {
      // Prepare
      const assertion = await signAssertion();

      // Act
      const response = await jwtBearer(assertion);

      // Assess
      expect(response.body.scope).toBe('api:read api:write');
    });

    it('verifies assertions of an issuer configured with a static JWKS', async () => {
      // Prepare
      const assertion = await signAssertion({ claims: { iss: STATIC_ISSUER } });

      // Act
      const response = await postToken({ grant_type: JWT_BEARER, assertion, ...POST_CLIENT }, {});
      const introspection = await as.introspect(String(response.body.access_token), RESOURCE_SERVER);

      // Assess
      expect(response.status).toBe(200);
      expect(introspection).toMatchObject({
        active: true,
        sub: 'user-123',
        client_id: POST_CLIENT.client_id,
      });
    });

    const now = () => Math.floor(Date.now() / 1000);
    it.each<{ name: string; make: () => Promise<string>; description: RegExp }>([
      {
        name: 'a signature by a key the issuer did not publish',
        make: () => signAssertion({ key: keys.rogue }),
        description: /^assertion signature invalid/,
      },
      {
        name: 'a wrong audience',
        make: () => signAssertion({ claims: { aud: 'https://somebody-else.example/token' } }),
        description: /^assertion audience invalid/,
      },
      {
        name: 'an expired assertion',
        make: () => signAssertion({ claims: { iat: now() - 120, exp: now() - 60 } }),
        description: /^assertion expired/,
      },
      {
        name: 'a missing jti',
        make: () => signAssertion({ omit: ['jti'] }),
        description: /missing the required "jti" claim/,
      },
      {
        name: 'a missing sub',
        make: () => signAssertion({ omit: ['sub'] }),
        description: /missing the required "sub" claim/,
      },
      {
        name: 'an untrusted issuer',
        make: () => signAssertion({ claims: { iss: 'https://untrusted.example' } }),
        description: /issuer "https:\/\/untrusted\.example" is not trusted/,
      },
      {
        name: 'an issuer trusted only for another client',
        make: () => signAssertion({ claims: { iss: STATIC_ISSUER } }),
        description: /issuer "static-issuer" is not trusted for client/,
      },
      {
        name: 'a lifetime over the cap',
        make: () => signAssertion({ claims: { iat: now(), exp: now() + 3600 } }),
        description: /lifetime of 3600s exceeds the maximum of 300s/,
      },
      {
        name: 'an iat in the future',
        make: () => signAssertion({ claims: { iat: now() + 120, exp: now() + 180 } }),
        description: /iat claim is in the future/,
      },
      {
        name: 'an nbf in the future',
        make: () => signAssertion({ claims: { nbf: now() + 120 } }),
        description: /not yet valid \(nbf\)/,
      },
    ])('rejects $name with invalid_grant', async ({ make, description }) => {
      // Prepare
      const assertion = await make();

      // Act
      const response = await jwtBearer(assertion);

      // Assess
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_grant');
      expect(response.body.error_description).toMatch(description);
    });

    it('rejects a replayed jti with invalid_grant', async () => {
      // Prepare
      const assertion = await signAssertion();
      const first = await jwtBearer(assertion);

      // Act
      const replay = await jwtBearer(assertion);

      // Assess
      expect(first.status).toBe(200);
      expect(replay.status).toBe(400);
      expect(replay.body).toMatchObject({ error: 'invalid_grant' });
      expect(replay.body.error_description).toMatch(/^assertion replayed/);
    });

    it('answers 503 temporarily_unavailable when the issuer keys cannot be fetched', async () => {
      // Prepare
      const assertion = await signAssertion({ claims: { iss: UNREACHABLE_ISSUER } });

      // Act
      const response = await jwtBearer(assertion);

      // Assess
      expect(response.status).toBe(503);
      expect(response.body.error).toBe('temporarily_unavailable');
      expect(response.body.error_description).toMatch(/unable to load the assertion issuer keys/);
    });

    it('rejects a scope the client may not request with invalid_scope', async () => {
      // Prepare
      const assertion = await signAssertion();

      // Act
      const response = await jwtBearer(assertion, { scope: 'api:read admin' });

      // Assess
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_scope');
      expect(response.body.error_description).toMatch(/not allowed for this client: admin/);
    });

    it('does not spend the assertion jti on a request refused for its scope', async () => {
      // Prepare
      const assertion = await signAssertion();
      await jwtBearer(assertion, { scope: 'admin' });

      // Act
      const retry = await jwtBearer(assertion, { scope: 'api:read' });

      // Assess
      expect(retry.status).toBe(200);
    });
  });

  describe('client authentication', () => {
    it('requires the RFC 6749 2.3.1 form-urlencoding of id and secret in HTTP Basic', async () => {
      // Prepare
      const raw = `Basic ${Buffer.from(`${GATEWAY.client_id}:${GATEWAY.client_secret}`).toString('base64')}`;

      // Act
      const unencoded = await postToken(
        { grant_type: JWT_BEARER, assertion: await signAssertion() },
        { authorization: raw },
      );
      const encoded = await jwtBearer(await signAssertion());
      // introspect() authenticates the same way, so the same client must get through it too.
      const introspection = await as.introspect(String(encoded.body.access_token), GATEWAY);

      // Assess
      expect(unencoded.status).toBe(400);
      expect(unencoded.body).toMatchObject({ error: 'invalid_request' });
      expect(unencoded.body.error_description).toMatch(/not properly encoded/);
      expect(encoded.status).toBe(200);
      expect(introspection).toMatchObject({ active: true, client_id: GATEWAY.client_id });
    });

    it('rejects a wrong client secret with invalid_client', async () => {
      // Prepare
      const assertion = await signAssertion();

      // Act
      const response = await postToken(
        { grant_type: JWT_BEARER, assertion },
        { authorization: basic(GATEWAY.client_id, 'not-the-secret') },
      );

      // Assess
      expect(response.status).toBe(401);
      expect(response.body.error).toBe('invalid_client');
    });

    it('accepts client_secret_post', async () => {
      // Prepare
      const assertion = await signAssertion({ claims: { iss: STATIC_ISSUER } });

      // Act
      const response = await postToken({ grant_type: JWT_BEARER, assertion, ...POST_CLIENT }, {});
      // introspect() must authenticate this client the way it is registered, in the form body.
      const introspection = await as.introspect(String(response.body.access_token), POST_CLIENT);

      // Assess
      expect(response.status).toBe(200);
      expect(introspection).toMatchObject({ active: true, client_id: POST_CLIENT.client_id });
    });

    it('accepts a public client (none) identified by client_id alone', async () => {
      // Prepare
      const assertion = await signAssertion();

      // Act
      const response = await postToken(
        { grant_type: JWT_BEARER, assertion, client_id: PUBLIC_CLIENT_ID },
        {},
      );
      const introspection = await as.introspect(String(response.body.access_token), RESOURCE_SERVER);

      // Assess
      expect(response.status).toBe(200);
      expect(introspection).toMatchObject({ active: true, client_id: PUBLIC_CLIENT_ID, sub: 'user-123' });
    });

    it.each([
      { audience: 'the issuer identifier', aud: () => as.issuer },
      { audience: 'the token endpoint', aud: () => as.tokenEndpoint },
    ])('accepts private_key_jwt with $audience as client assertion audience', async ({ aud }) => {
      // Prepare
      const clientAssertion = await signClientAssertion(aud());
      const assertion = await signAssertion();

      // Act
      const response = await postToken(
        {
          grant_type: JWT_BEARER,
          assertion,
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: clientAssertion,
        },
        {},
      );
      const introspection = await as.introspect(String(response.body.access_token), RESOURCE_SERVER);

      // Assess
      expect(response.status).toBe(200);
      expect(introspection).toMatchObject({ active: true, client_id: PKJWT_CLIENT_ID, sub: 'user-123' });
    });
  });

  describe('password grant', () => {
    it('issues a token for the resource owner', async () => {
      // Prepare
      const params = { grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'api:read' };

      // Act
      const response = await postToken(params, {
        authorization: basic(PASSWORD_CLIENT.client_id, PASSWORD_CLIENT.client_secret),
      });
      const introspection = await as.introspect(String(response.body.access_token), RESOURCE_SERVER);

      // Assess
      expect(response.status).toBe(200);
      expect(introspection).toMatchObject({
        active: true,
        sub: 'alice',
        client_id: PASSWORD_CLIENT.client_id,
      });
    });

    it('rejects a wrong password with invalid_grant', async () => {
      // Prepare
      const params = { grant_type: 'password', username: 'alice', password: 'looking-glass' };

      // Act
      const response = await postToken(params, {
        authorization: basic(PASSWORD_CLIENT.client_id, PASSWORD_CLIENT.client_secret),
      });

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        error: 'invalid_grant',
        error_description: 'invalid resource owner credentials',
      });
    });
  });

  describe('token exchange grant', () => {
    it('exchanges a JWT subject token for an access token for the requested audience', async () => {
      // Prepare
      const subjectToken = await signAssertion();

      // Act
      const response = await postToken(
        {
          grant_type: TOKEN_EXCHANGE,
          subject_token: subjectToken,
          subject_token_type: TOKEN_TYPE_JWT,
          audience: 'https://api.example',
          scope: 'api:write',
        },
        { authorization: basic(GATEWAY.client_id, GATEWAY.client_secret) },
      );
      const introspection = await as.introspect(String(response.body.access_token), RESOURCE_SERVER);

      // Assess
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        scope: 'api:write',
      });
      expect(response.body.refresh_token).toBeUndefined();
      expect(introspection).toMatchObject({ active: true, sub: 'user-123', aud: 'https://api.example' });
    });

    it('rejects a subject token of another type with invalid_request', async () => {
      // Prepare
      const params = {
        grant_type: TOKEN_EXCHANGE,
        subject_token: await signAssertion(),
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      };

      // Act
      const response = await postToken(params, {
        authorization: basic(GATEWAY.client_id, GATEWAY.client_secret),
      });

      // Assess
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_request');
      expect(response.body.error_description).toMatch(/unsupported subject_token_type/);
    });

    it('rejects an invalid subject token with invalid_request (RFC 8693 2.2.2)', async () => {
      // Prepare
      const params = {
        grant_type: TOKEN_EXCHANGE,
        subject_token: await signAssertion({ claims: { aud: 'https://somebody-else.example' } }),
        subject_token_type: TOKEN_TYPE_JWT,
      };

      // Act
      const response = await postToken(params, {
        authorization: basic(GATEWAY.client_id, GATEWAY.client_secret),
      });

      // Assess
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_request');
      expect(response.body.error_description).toMatch(/^subject_token audience invalid/);
    });
  });

  describe('client_credentials grant', () => {
    it('issues a token to a confidential client', async () => {
      // Prepare
      const params = { grant_type: 'client_credentials', scope: 'api:read' };

      // Act
      const response = await postToken(params, {
        authorization: basic(SERVICE.client_id, SERVICE.client_secret),
      });
      const introspection = await as.introspect(String(response.body.access_token), RESOURCE_SERVER);

      // Assess
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ token_type: 'Bearer', scope: 'api:read' });
      expect(introspection).toMatchObject({ active: true, client_id: SERVICE.client_id, scope: 'api:read' });
    });
  });

  describe('refresh_token grant', () => {
    it('refreshes a token issued by the jwt-bearer grant for the same user', async () => {
      // Prepare
      const issued = await jwtBearer(await signAssertion({ claims: { sub: 'refresh-user' } }), {
        scope: 'api:read',
      });

      // Act
      const refreshed = await postToken(
        { grant_type: 'refresh_token', refresh_token: String(issued.body.refresh_token) },
        { authorization: basic(GATEWAY.client_id, GATEWAY.client_secret) },
      );
      const introspection = await as.introspect(String(refreshed.body.access_token), RESOURCE_SERVER);

      // Assess
      expect(issued.body.refresh_token).toEqual(expect.any(String));
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.access_token).not.toBe(issued.body.access_token);
      expect(introspection).toMatchObject({
        active: true,
        sub: 'refresh-user',
        client_id: GATEWAY.client_id,
        scope: 'api:read',
      });
    });

    it('refreshes a token issued by the password grant', async () => {
      // Prepare
      const auth = { authorization: basic(PASSWORD_CLIENT.client_id, PASSWORD_CLIENT.client_secret) };
      const issued = await postToken(
        { grant_type: 'password', username: 'alice', password: 'wonderland' },
        auth,
      );

      // Act
      const refreshed = await postToken(
        { grant_type: 'refresh_token', refresh_token: String(issued.body.refresh_token) },
        auth,
      );

      // Assess
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.access_token).toEqual(expect.any(String));
    });
  });

  describe('discovery', () => {
    it.each(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])(
      'serves the metadata at %s',
      async (path) => {
        // Prepare
        const url = `${as.issuer}${path}`;

        // Act
        const response = await fetch(url);
        const metadata = (await response.json()) as Record<string, unknown>;

        // Assess
        expect(response.status).toBe(200);
        expect(metadata).toMatchObject({
          issuer: as.issuer,
          token_endpoint: as.tokenEndpoint,
          introspection_endpoint: as.introspectionEndpoint,
          jwks_uri: as.jwksUri,
        });
        expect(metadata.grant_types_supported).toEqual(
          expect.arrayContaining([
            JWT_BEARER,
            TOKEN_EXCHANGE,
            'password',
            'client_credentials',
            'refresh_token',
          ]),
        );
        expect(metadata.token_endpoint_auth_methods_supported).toEqual(
          expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']),
        );
      },
    );

    it('issuer has no trailing slash and the token endpoint is /token', () => {
      // Prepare
      const { issuer, tokenEndpoint } = as;

      // Act
      const path = new URL(tokenEndpoint).pathname;

      // Assess
      expect(issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(path).toBe('/token');
    });
  });

  describe('startup', () => {
    it('refuses client metadata oidc-provider would reject, naming the client', async () => {
      // Prepare
      const options = {
        clients: [
          {
            client_id: 'no-keys',
            token_endpoint_auth_method: 'private_key_jwt' as const,
            grant_types: [JWT_BEARER],
          },
        ],
        trustedIssuers: [],
      };

      // Act
      const starting = startDemoAuthorizationServer(options);

      // Assess
      await expect(starting).rejects.toThrow('client no-keys: jwks or jwks_uri is mandatory for this client');
    });

    it('refuses a trusted issuer naming an unknown client', async () => {
      // Prepare
      const options = {
        clients: [],
        trustedIssuers: [{ issuer: 'iss', jwks: { keys: [] }, clientIds: ['ghost'] }],
      };

      // Act
      const starting = startDemoAuthorizationServer(options);

      // Assess
      await expect(starting).rejects.toThrow(
        'trusted issuer iss: clientIds must name configured clients (unknown: ghost)',
      );
    });
  });

  describe('tokenRequests', () => {
    it('records each token request with its outcome, keeping the assertion and redacting secrets', async () => {
      // Prepare
      const before = as.tokenRequests.length;
      const good = await signAssertion();
      const bad = await signAssertion({ claims: { aud: 'https://wrong.example' } });

      // Act
      await jwtBearer(good, { scope: 'api:read' });
      await postToken({ grant_type: JWT_BEARER, assertion: bad, ...POST_CLIENT }, {});
      await postToken(
        { grant_type: JWT_BEARER, assertion: good },
        { authorization: basic(GATEWAY.client_id, 'wrong') },
      );

      // Assess
      expect(as.tokenRequests.slice(before)).toEqual([
        {
          grantType: JWT_BEARER,
          clientId: GATEWAY.client_id,
          params: { grant_type: JWT_BEARER, assertion: good, scope: 'api:read' },
          status: 200,
        },
        {
          grantType: JWT_BEARER,
          clientId: POST_CLIENT.client_id,
          params: {
            grant_type: JWT_BEARER,
            assertion: bad,
            client_id: POST_CLIENT.client_id,
            client_secret: '[redacted]',
          },
          status: 400,
          error: 'invalid_grant',
        },
        {
          grantType: JWT_BEARER,
          clientId: undefined,
          params: { grant_type: JWT_BEARER, assertion: good },
          status: 401,
          error: 'invalid_client',
        },
      ]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

interface AssertionOptions {
  claims?: JWTPayload;
  omit?: Array<keyof JWTPayload>;
  key?: KeyPair;
  alg?: string;
  kid?: string;
}

/** An RFC 7523 assertion from the gateway issuer about user-123, valid unless overridden. */
async function signAssertion(options: AssertionOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    iss: GATEWAY.client_id,
    sub: 'user-123',
    aud: as.tokenEndpoint,
    jti: randomUUID(),
    iat: now,
    exp: now + 60,
    ...options.claims,
  };
  for (const claim of options.omit ?? []) delete claims[claim];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: options.kid ?? 'es-1' })
    .sign((options.key ?? keys.es256).privateKey);
}

/** RFC 7523 section 2.2 client authentication for the private_key_jwt client. */
async function signClientAssertion(aud: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'client-1' })
    .setIssuer(PKJWT_CLIENT_ID)
    .setSubject(PKJWT_CLIENT_ID)
    .setAudience(aud)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(keys.clientAuth.privateKey);
}

/** A jwt-bearer token request by the gateway client, authenticated with client_secret_basic. */
function jwtBearer(assertion: string, extra: Record<string, string> = {}): Promise<TokenResponse> {
  return postToken(
    { grant_type: JWT_BEARER, assertion, ...extra },
    { authorization: basic(GATEWAY.client_id, GATEWAY.client_secret) },
  );
}

async function postToken(
  params: Record<string, string>,
  headers: Record<string, string>,
): Promise<TokenResponse> {
  const response = await fetch(as.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** RFC 6749 2.3.1: form-urlencode id and secret, then join with ':' and base64. */
function basic(clientId: string, clientSecret: string): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

async function publicJwk(pair: KeyPair, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
}

/** A tiny JWKS host, so the AS fetches keys over HTTP exactly as it would from the gateway. */
async function serveJson(routes: Record<string, unknown>): Promise<Server> {
  const server = createServer((request, response) => {
    const body = routes[request.url ?? ''];
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}
