import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '#lib/config/load-config.ts';
import type { GatewayConfigInput } from '#lib/config/schema.ts';
import { AuthorizationServerError } from '#lib/errors.ts';
import {
  type DemoAuthorizationServer,
  startDemoAuthorizationServer,
} from '#lib/local/demo-authorization-server.ts';
import { TokenExchanger } from '#lib/oauth/token-exchanger.ts';
import { SecretResolver } from '#lib/secrets/resolve-secret.ts';
import { SigningKeyRing } from '#lib/signing/key-ring.ts';
import { LocalSigner } from '#lib/signing/local-signer.ts';
import { type FaultProxy, startFaultProxy } from '#test/support/fault-proxy.ts';
import { serveJwks } from '#test/support/jwks-server.ts';
import { freePort } from '#test/support/ports.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
// RFC 6749 2.3.1: these must be form-urlencoded before Basic encoding, or the server misreads them.
const AWKWARD_ID = 'gw:basic+id%1';
const AWKWARD_SECRET = 's3cr:t+/%= x';

let as: DemoAuthorizationServer;
let proxy: FaultProxy;
let keyRing: SigningKeyRing;
let jwks: { url: string; close(): Promise<void> };
const sleeps: number[] = [];

const introspector = { client_id: 'introspector', client_secret: 'introspector-secret' };

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'exchanger-'));
  keyRing = new SigningKeyRing([
    {
      signer: new LocalSigner({ id: 'primary', path: join(dir, 'primary.json'), generate: true }),
      retired: false,
    },
    {
      signer: new LocalSigner({ id: 'rsa', path: join(dir, 'rsa.json'), generate: true, algorithm: 'PS256' }),
      retired: false,
    },
  ]);
  jwks = await serveJwks(keyRing);
  const grants = [JWT_BEARER, TOKEN_EXCHANGE, 'client_credentials', 'password', 'refresh_token'];
  as = await startDemoAuthorizationServer({
    clients: [
      {
        client_id: AWKWARD_ID,
        client_secret: AWKWARD_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: grants,
        scope: 'openid payments.read',
      },
      {
        client_id: 'gw-post',
        client_secret: 'post-secret',
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: grants,
        scope: 'openid payments.read',
      },
      {
        client_id: 'gw-pkjwt',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: jwks.url,
        grant_types: grants,
        scope: 'openid',
      },
      {
        client_id: 'gw-none',
        token_endpoint_auth_method: 'none',
        grant_types: [JWT_BEARER],
        scope: 'openid',
      },
      {
        ...introspector,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
      },
    ],
    trustedIssuers: [
      { issuer: 'gateway', jwksUri: jwks.url, clientIds: [AWKWARD_ID, 'gw-post', 'gw-pkjwt', 'gw-none'] },
    ],
    users: { alice: 'alice-password' },
  });
  proxy = await startFaultProxy(as.issuer);
});

afterAll(async () => {
  await proxy?.close();
  await as?.close();
  await jwks?.close();
});

beforeEach(() => {
  sleeps.length = 0;
});

function exchangerFor(
  targets: GatewayConfigInput['targets'],
  env: Record<string, string> = {},
): TokenExchanger {
  const { config } = parseConfig({
    environment: 'development',
    signingKeys: {
      primary: { type: 'local', path: 'unused' },
      rsa: { type: 'local', path: 'unused' },
    },
    targets,
  });
  return new TokenExchanger({
    config,
    keyRing,
    secrets: new SecretResolver({ env }),
    retry: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
  });
}

const basicTarget = (tokenEndpoint: string, extra: Record<string, unknown> = {}) => ({
  tokenEndpoint,
  clientId: AWKWARD_ID,
  clientAuthentication: { method: 'client_secret_basic' as const, secret: { env: 'BASIC_SECRET' } },
  assertion: { signingKey: 'primary', issuer: 'gateway' },
  maxRetries: 1,
  ...extra,
});

describe('TokenExchanger', () => {
  describe('jwt-bearer grant', () => {
    it('obtains a token for the mapped subject with client_secret_basic (RFC 6749 2.3.1 encoding)', async () => {
      // Prepare
      const exchanger = exchangerFor(
        {
          demo: basicTarget(as.tokenEndpoint, {
            subject: { template: '{subject}@corp.example', case: 'lower' },
          }),
        },
        { BASIC_SECRET: AWKWARD_SECRET },
      );

      // Act
      const result = await exchanger.exchange({
        target: 'demo',
        subject: 'CICSUSR1',
        scope: 'payments.read',
      });

      // Assess
      const introspection = await as.introspect(result.token.accessToken, introspector);
      expect(introspection).toMatchObject({
        active: true,
        sub: 'cicsusr1@corp.example',
        client_id: AWKWARD_ID,
        scope: 'payments.read',
      });
      expect(result.mappedSubject).toBe('cicsusr1@corp.example');
      expect(result.assertion?.aud).toBe(as.tokenEndpoint);
      expect(result.token).toMatchObject({ tokenType: 'bearer', scope: 'payments.read' });
    });

    it('keeps exp - iat within the maximum lifetime when iat is backdated by the clock skew', async () => {
      // Prepare: the demo AS refuses assertions living longer than 300 s, as strict servers do.
      const exchanger = exchangerFor(
        {
          demo: basicTarget(as.tokenEndpoint, {
            assertion: {
              signingKey: 'primary',
              issuer: 'gateway',
              lifetimeSeconds: 300,
              clockSkewSeconds: 30,
            },
          }),
        },
        { BASIC_SECRET: AWKWARD_SECRET },
      );

      // Act
      const result = await exchanger.exchange({ target: 'demo', subject: 'CICSUSR1' });

      // Assess
      const claims = decodeJwt(as.tokenRequests.at(-1)!.params.assertion!);
      expect(claims.exp! - claims.iat!).toBe(300);
      expect(result.assertion?.exp).toBe(claims.exp);
    });

    it('authenticates with client_secret_post and an issuer audience', async () => {
      // Prepare
      const exchanger = exchangerFor({
        demo: {
          issuer: as.issuer,
          tokenEndpoint: as.tokenEndpoint,
          clientId: 'gw-post',
          clientAuthentication: { method: 'client_secret_post', secret: { value: 'post-secret' } },
          assertion: { signingKey: 'rsa', issuer: 'gateway', audience: 'issuer' },
        },
      });

      // Act
      const result = await exchanger.exchange({ target: 'demo', subject: 'CICSUSR2' });

      // Assess
      const recorded = as.tokenRequests.at(-1)!;
      expect(decodeJwt(recorded.params.assertion!)).toMatchObject({ aud: as.issuer, sub: 'CICSUSR2' });
      expect(recorded.params.client_secret).toBeDefined();
      expect(await as.introspect(result.token.accessToken, introspector)).toMatchObject({
        sub: 'CICSUSR2',
        client_id: 'gw-post',
      });
    });

    for (const audience of ['issuer', 'token_endpoint'] as const) {
      it(`authenticates with private_key_jwt signed by the same signer (aud = ${audience})`, async () => {
        // Prepare
        const exchanger = exchangerFor({
          demo: {
            issuer: as.issuer,
            clientId: 'gw-pkjwt',
            clientAuthentication: { method: 'private_key_jwt', audience, explicitType: true },
            assertion: { signingKey: 'primary', issuer: 'gateway' },
          },
        });

        // Act
        const result = await exchanger.exchange({ target: 'demo', subject: 'CICSUSR3', scope: 'openid' });

        // Assess
        const recorded = as.tokenRequests.at(-1)!;
        const clientAssertion = decodeJwt(recorded.params.client_assertion!);
        expect(clientAssertion).toMatchObject({
          iss: 'gw-pkjwt',
          sub: 'gw-pkjwt',
          aud: audience === 'issuer' ? as.issuer : as.tokenEndpoint,
        });
        expect(await as.introspect(result.token.accessToken, introspector)).toMatchObject({
          sub: 'CICSUSR3',
          client_id: 'gw-pkjwt',
        });
      });
    }

    it('discovers the token endpoint from the issuer (RFC 8414) when none is configured', async () => {
      // Prepare
      const exchanger = exchangerFor({
        demo: {
          issuer: as.issuer,
          clientId: 'gw-none',
          clientAuthentication: { method: 'none' },
          assertion: { signingKey: 'primary', issuer: 'gateway' },
        },
      });

      // Act
      const result = await exchanger.exchange({ target: 'demo', subject: 'CICSUSR4' });

      // Assess
      expect(result.assertion?.aud).toBe(as.tokenEndpoint);
      expect(await as.introspect(result.token.accessToken, introspector)).toMatchObject({ sub: 'CICSUSR4' });
    });

    it("surfaces the server's invalid_grant with its description, and does not retry it", async () => {
      // Prepare
      const exchanger = exchangerFor(
        {
          demo: basicTarget(`${proxy.origin}/token`, {
            assertion: { signingKey: 'primary', issuer: 'gateway', audience: { value: 'https://elsewhere' } },
          }),
        },
        { BASIC_SECRET: AWKWARD_SECRET },
      );
      const before = proxy.requests.length;

      // Act
      const error = await exchanger
        .exchange({ target: 'demo', subject: 'CICSUSR1' })
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(AuthorizationServerError);
      expect(error).toMatchObject({ code: 'ERR_AS_REJECTED', error: 'invalid_grant', status: 400 });
      expect((error as AuthorizationServerError).errorDescription).toMatch(/audience/);
      expect(proxy.requests.length - before).toBe(1);
    });

    it('surfaces invalid_client for a wrong client secret', async () => {
      // Prepare
      const exchanger = exchangerFor({ demo: basicTarget(as.tokenEndpoint) }, { BASIC_SECRET: 'wrong' });

      // Act + Assess
      await expect(exchanger.exchange({ target: 'demo', subject: 'CICSUSR1' })).rejects.toMatchObject({
        code: 'ERR_AS_REJECTED',
        error: 'invalid_client',
      });
    });

    it('fails with ERR_SECRET_NOT_FOUND before calling the server when the secret is missing', async () => {
      // Prepare
      const exchanger = exchangerFor({ demo: basicTarget(`${proxy.origin}/token`) });
      const before = proxy.requests.length;

      // Act + Assess
      await expect(exchanger.exchange({ target: 'demo', subject: 'CICSUSR1' })).rejects.toMatchObject({
        code: 'ERR_SECRET_NOT_FOUND',
      });
      expect(proxy.requests.length).toBe(before);
    });

    it('rejects a bad subject before signing or calling the server', async () => {
      // Prepare
      const exchanger = exchangerFor(
        { demo: basicTarget(`${proxy.origin}/token`) },
        { BASIC_SECRET: AWKWARD_SECRET },
      );
      const before = proxy.requests.length;

      // Act + Assess
      await expect(exchanger.exchange({ target: 'demo', subject: 'BAD\nUSER' })).rejects.toMatchObject({
        code: 'ERR_SUBJECT_INVALID',
      });
      expect(proxy.requests.length).toBe(before);
    });
  });

  describe('retries', () => {
    const target = () =>
      exchangerFor(
        {
          demo: basicTarget(`${proxy.origin}/token`, {
            timeoutMs: 300,
            // Through the proxy, the audience the server expects is still its own token endpoint.
            assertion: { signingKey: 'primary', issuer: 'gateway', audience: { value: as.tokenEndpoint } },
          }),
        },
        { BASIC_SECRET: AWKWARD_SECRET },
      );

    it('retries a 503 with a fresh assertion and succeeds', async () => {
      // Prepare
      proxy.inject({ kind: 'status', status: 503, body: '{"error":"temporarily_unavailable"}' });
      const before = as.tokenRequests.length;

      // Act
      const result = await target().exchange({ target: 'demo', subject: 'CICSUSR1' });

      // Assess
      expect(result.token.accessToken).toBeTruthy();
      expect(sleeps).toEqual([100]);
      expect(as.tokenRequests.length - before).toBe(1);
    });

    it('never retries a 429: the caller is told the Retry-After at once', async () => {
      // Prepare
      proxy.inject({ kind: 'status', status: 429, headers: { 'retry-after': '2' } });
      const before = proxy.requests.length;

      // Act
      const failure = await target()
        .exchange({ target: 'demo', subject: 'CICSUSR1' })
        .catch((error: unknown) => error);

      // Assess: one request, no sleep; the server's Retry-After reaches the caller.
      expect(proxy.requests.length - before).toBe(1);
      expect(sleeps).toEqual([]);
      expect(failure).toMatchObject({ code: 'ERR_AS_BUSY', retryAfterSeconds: 2 });
    });

    it('never retries a 503 that carries Retry-After', async () => {
      // Prepare
      proxy.inject({ kind: 'status', status: 503, headers: { 'retry-after': '7' } });
      const before = proxy.requests.length;

      // Act
      const failure = await target()
        .exchange({ target: 'demo', subject: 'CICSUSR1' })
        .catch((error: unknown) => error);

      // Assess
      expect(proxy.requests.length - before).toBe(1);
      expect(failure).toMatchObject({ code: 'ERR_AS_BUSY', retryAfterSeconds: 7 });
    });

    it('times out a stalled attempt and signs a new assertion for the retry (no jti replay)', async () => {
      // Prepare: the stalled request still reaches the server later and uses up its jti.
      proxy.inject({ kind: 'delay', ms: 600 });
      const before = as.tokenRequests.length;

      // Act
      const result = await target().exchange({ target: 'demo', subject: 'CICSUSR1' });
      await new Promise((resolve) => setTimeout(resolve, 700));

      // Assess
      expect(result.token.accessToken).toBeTruthy();
      const seen = as.tokenRequests.slice(before).map((r) => decodeJwt(r.params.assertion!).jti);
      expect(new Set(seen).size).toBe(seen.length);
      expect(result.assertion?.jti).toBe(seen.at(0));
    });

    it('reports a server that never answers in time as ERR_AS_TIMEOUT', async () => {
      // Prepare
      const stall = { kind: 'delay', ms: 600 } as const;
      proxy.inject(stall, stall);

      // Act + Assess
      await expect(target().exchange({ target: 'demo', subject: 'CICSUSR1' })).rejects.toMatchObject({
        code: 'ERR_AS_TIMEOUT',
      });
      await new Promise((resolve) => setTimeout(resolve, 700)); // let the stalled requests drain
    });

    it('starts no attempt that could not finish before the deadline', async () => {
      // Prepare: every attempt would stall; the caller needs an answer within 450 ms.
      proxy.inject({ kind: 'delay', ms: 600 });
      const before = proxy.requests.length;
      const started = Date.now();

      // Act
      const error = await target()
        .exchange({ target: 'demo', subject: 'CICSUSR1', deadline: started + 450 })
        .catch((e: unknown) => e);

      // Assess: one 300 ms attempt, then too little time for backoff and another attempt.
      expect(error).toMatchObject({ code: 'ERR_AS_TIMEOUT' });
      expect(proxy.requests.length - before).toBe(1);
      expect(Date.now() - started).toBeLessThan(600);
      await new Promise((resolve) => setTimeout(resolve, 700)); // let the stalled requests drain
    });

    it('does not retry a request that cannot be sent (plain http to a remote host)', async () => {
      // Prepare: a config that bypassed validation, as a defence in depth.
      const exchanger = target();
      const config = (
        exchanger as unknown as { deps: { config: { targets: Record<string, { tokenEndpoint: string }> } } }
      ).deps.config;
      config.targets.demo!.tokenEndpoint = 'http://as.example.com/token';

      // Act
      const error = await exchanger
        .exchange({ target: 'demo', subject: 'CICSUSR1' })
        .catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ code: 'ERR_CONFIG_INVALID', message: expect.stringContaining('HTTPS') });
      expect(sleeps).toEqual([]);
    });

    it('retries a reset connection', async () => {
      // Prepare
      proxy.inject({ kind: 'reset' });

      // Act
      const result = await target().exchange({ target: 'demo', subject: 'CICSUSR1' });

      // Assess
      expect(result.token.accessToken).toBeTruthy();
      expect(sleeps).toHaveLength(1);
    });

    it('gives up after maxRetries with ERR_AS_UNAVAILABLE naming the status', async () => {
      // Prepare
      const fault = { kind: 'status', status: 502 } as const;
      proxy.inject(fault, fault);

      // Act + Assess
      await expect(target().exchange({ target: 'demo', subject: 'CICSUSR1' })).rejects.toMatchObject({
        code: 'ERR_AS_UNAVAILABLE',
        message: expect.stringContaining('HTTP 502'),
      });
      expect(sleeps).toHaveLength(1);
    });

    it('reports a refused connection as ERR_AS_UNAVAILABLE', async () => {
      // Prepare: a port that was free a moment ago.
      const port = await freePort();
      const exchanger = exchangerFor(
        { demo: basicTarget(`http://127.0.0.1:${port}/token`, { maxRetries: 1 }) },
        { BASIC_SECRET: AWKWARD_SECRET },
      );

      // Act + Assess
      await expect(exchanger.exchange({ target: 'demo', subject: 'CICSUSR1' })).rejects.toMatchObject({
        code: 'ERR_AS_UNAVAILABLE',
        message: expect.stringContaining('ECONNREFUSED'),
      });
    });
  });

  describe('other grants', () => {
    it('token-exchange sends the signed JWT as subject_token of type jwt', async () => {
      // Prepare
      const exchanger = exchangerFor(
        { demo: basicTarget(as.tokenEndpoint, { grant: 'token-exchange' }) },
        { BASIC_SECRET: AWKWARD_SECRET },
      );

      // Act
      const result = await exchanger.exchange({
        target: 'demo',
        subject: 'CICSUSR5',
        audience: 'https://api.example',
      });

      // Assess
      const recorded = as.tokenRequests.at(-1)!;
      expect(recorded.params).toMatchObject({
        grant_type: TOKEN_EXCHANGE,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        audience: 'https://api.example',
      });
      expect(result.token.issuedTokenType).toBe('urn:ietf:params:oauth:token-type:access_token');
      expect(await as.introspect(result.token.accessToken, introspector)).toMatchObject({ sub: 'CICSUSR5' });
    });

    it('refuses a token exchange that issued a refresh token instead of an access token', async () => {
      // Prepare: a server answering RFC 8693 2.2.1 with an issued_token_type no API accepts.
      const exchanger = exchangerFor(
        {
          demo: basicTarget(`${proxy.origin}/token`, {
            grant: 'token-exchange',
            assertion: { signingKey: 'primary', issuer: 'gateway', audience: { value: as.tokenEndpoint } },
          }),
        },
        { BASIC_SECRET: AWKWARD_SECRET },
      );
      proxy.inject({
        kind: 'status',
        status: 200,
        body: JSON.stringify({
          access_token: 'r1',
          token_type: 'N_A',
          issued_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
        }),
      });

      // Act + Assess
      await expect(exchanger.exchange({ target: 'demo', subject: 'CICSUSR5' })).rejects.toMatchObject({
        code: 'ERR_AS_RESPONSE_INVALID',
      });
    });

    it('client_credentials obtains a token for the application itself', async () => {
      // Prepare
      const exchanger = exchangerFor(
        { demo: basicTarget(as.tokenEndpoint, { grant: 'client_credentials' }) },
        { BASIC_SECRET: AWKWARD_SECRET },
      );

      // Act
      const result = await exchanger.exchange({ target: 'demo', subject: 'ignored', scope: 'payments.read' });

      // Assess
      expect(result.mappedSubject).toBeUndefined();
      expect(await as.introspect(result.token.accessToken, introspector)).toMatchObject({
        active: true,
        client_id: AWKWARD_ID,
      });
    });

    it('password reads username and password from secret references', async () => {
      // Prepare
      const exchanger = exchangerFor(
        {
          demo: basicTarget(as.tokenEndpoint, {
            grant: 'password',
            password: { username: { env: 'USERNAME' }, password: { env: 'PASSWORD' } },
          }),
        },
        { BASIC_SECRET: AWKWARD_SECRET, USERNAME: 'alice', PASSWORD: 'alice-password' },
      );

      // Act
      const result = await exchanger.exchange({ target: 'demo', subject: 'ignored' });

      // Assess
      expect(await as.introspect(result.token.accessToken, introspector)).toMatchObject({ sub: 'alice' });
    });
  });

  for (const target of ['nope', 'constructor', '__proto__']) {
    it(`names an unknown target (${target})`, async () => {
      await expect(exchangerFor({}).exchange({ target, subject: 'X' })).rejects.toMatchObject({
        code: 'ERR_TARGET_UNKNOWN',
      });
    });
  }
});
