import {
  type AttributeValue,
  type DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbTokenStore } from '#lib/cache/dynamodb-token-store.ts';
import { EnvelopeCipher, KmsDataKeyProvider } from '#lib/cache/envelope-cipher.ts';
import { MemoryTokenStore } from '#lib/cache/memory-token-store.ts';
import { TokenCache, type TokenCacheSettings } from '#lib/cache/token-cache.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import {
  type DemoAuthorizationServer,
  startDemoAuthorizationServer,
} from '#lib/local/demo-authorization-server.ts';
import { TokenExchanger } from '#lib/oauth/token-exchanger.ts';
import { SecretResolver } from '#lib/secrets/resolve-secret.ts';
import { SigningKeyRing } from '#lib/signing/key-ring.ts';
import { KmsSigner } from '#lib/signing/kms-signer.ts';
import { type AwsEmulator, awsClientConfig, startAwsEmulator } from '#test/support/aws-emulator.ts';
import { dynamoDbClient, type LocalDynamoDb, startDynamoDb } from '#test/support/dynalite.ts';
import { type FaultProxy, startFaultProxy } from '#test/support/fault-proxy.ts';
import { startHostileAuthorizationServer } from '#test/support/hostile-authorization-server.ts';
import { serveJwks } from '#test/support/jwks-server.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const SECRET = 'cache-client-secret';
const introspector = { client_id: 'introspector', client_secret: 'introspector-secret' };

let aws: AwsEmulator;
let kms: KMSClient;
let as: DemoAuthorizationServer;
let proxy: FaultProxy;
let jwks: { url: string; close(): Promise<void> };
let keyRing: SigningKeyRing;
let cacheKeyId: string;
let dynamo: LocalDynamoDb;

beforeAll(async () => {
  aws = await startAwsEmulator();
  kms = new KMSClient(awsClientConfig(aws));
  const signingKey = await aws.createKey('ECC_NIST_P256', 'SIGN_VERIFY');
  cacheKeyId = (await aws.createKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT')).keyId;
  keyRing = new SigningKeyRing([
    { signer: new KmsSigner(kms, { id: 'kms', keyId: signingKey.keyId }), retired: false },
  ]);
  jwks = await serveJwks(keyRing);
  as = await startDemoAuthorizationServer({
    clients: [
      {
        client_id: 'gw',
        client_secret: SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [JWT_BEARER, 'refresh_token'],
        scope: 'openid a b',
      },
      {
        ...introspector,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
      },
    ],
    trustedIssuers: [{ issuer: 'gateway', jwksUri: jwks.url, clientIds: ['gw'] }],
    accessTokenTtlSeconds: 900,
    issueRefreshTokens: true,
  });
  proxy = await startFaultProxy(as.issuer);
}, 30_000);

afterAll(async () => {
  await proxy?.close();
  await as?.close();
  await jwks?.close();
  await aws?.close();
});

beforeEach(async () => {
  dynamo = await startDynamoDb();
  aws.resetCalls();
  return () => dynamo.close();
});

interface Instance {
  readonly cache: TokenCache;
  readonly degraded: string[];
  readonly stale: unknown[];
}

/** One gateway instance: its own memory, exchanger and flights; optionally the shared table. */
function instance(
  options: {
    shared?: boolean;
    now?: () => number;
    settings?: Partial<TokenCacheSettings>;
    tokenEndpoint?: string;
    audience?: string;
    refreshTokens?: boolean;
    /** No target default scope: the server grants what it likes. */
    noDefaultScope?: boolean;
    /** The DynamoDB client of the shared layer (e.g. through a fault proxy); dynalite's own by default. */
    dynamoClient?: DynamoDBClient;
  } = {},
): Instance {
  const { config } = parseConfig({
    signingKeys: { kms: { type: 'kms', keyId: 'unused' } },
    targets: {
      demo: {
        tokenEndpoint: options.tokenEndpoint ?? as.tokenEndpoint,
        clientId: 'gw',
        clientAuthentication: { method: 'client_secret_basic', secret: { env: 'SECRET' } },
        assertion: { issuer: 'gateway', audience: { value: options.audience ?? as.tokenEndpoint } },
        scope: options.noDefaultScope ? undefined : options.refreshTokens ? 'a openid' : 'a',
        timeoutMs: 1000,
        maxRetries: 1,
      },
    },
  });
  const exchanger = new TokenExchanger({
    config,
    keyRing,
    secrets: new SecretResolver({ env: { SECRET } }),
    retry: { sleep: async () => undefined },
  });
  const now = options.now ?? Date.now;
  const degraded: string[] = [];
  const stale: unknown[] = [];
  const shared =
    options.shared === false
      ? undefined
      : new DynamoDbTokenStore(
          options.dynamoClient ?? dynamo.client,
          new EnvelopeCipher(new KmsDataKeyProvider(kms, cacheKeyId), {
            rotateAfterMs: 300_000,
            maxCachedKeys: 16,
            now,
          }),
          { tableName: dynamo.tableName, now },
        );
  const cache = new TokenCache({
    exchanger,
    local: new MemoryTokenStore(1000, now),
    shared,
    settings: options.settings,
    observer: {
      degraded: (operation) => degraded.push(operation),
      servedStale: (error) => stale.push(error),
    },
    now,
    random: () => 0,
  });
  return { cache, degraded, stale };
}

/** Counts the GetItem calls the SDK client makes (attempts that fail included) until stopped. */
function countGetItems(): { readonly count: number; stop(): void } {
  let count = 0;
  dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetItemCommand') count++;
      return next(args);
    },
    { step: 'initialize', name: 'countGetItems' },
  );
  return {
    get count() {
      return count;
    },
    stop: () => void dynamo.client.middlewareStack.remove('countGetItems'),
  };
}

/** Resolves once some instance holds an exchange lease in the table. */
async function leaseTaken(): Promise<void> {
  for (;;) {
    const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: dynamo.tableName }));
    if (Items.some((item) => Object.values(item).some((value) => value.S?.startsWith('lease#')))) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function tokenRequestsSince(before: number): number {
  return as.tokenRequests.length - before;
}

async function subjectOf(accessToken: string): Promise<unknown> {
  return (await as.introspect(accessToken, introspector)).sub;
}

describe('TokenCache', () => {
  describe('single flight', () => {
    it('serves 200 concurrent cold requests with 1 token request and 1 KMS Sign', async () => {
      // Prepare
      const { cache } = instance();
      const before = as.tokenRequests.length;

      // Act
      const results = await Promise.all(
        Array.from({ length: 200 }, () => cache.get({ target: 'demo', subject: 'CICSUSR1' })),
      );

      // Assess
      expect(tokenRequestsSince(before)).toBe(1);
      expect(aws.countCalls('Sign')).toBe(1);
      expect(new Set(results.map((r) => r.token.accessToken)).size).toBe(1);
      expect(await subjectOf(results[0]!.token.accessToken)).toBe('CICSUSR1');
    });

    it('lets 3 instances with separate memory (100 concurrent requests each) share one exchange', async () => {
      // Prepare
      const instances = [instance(), instance(), instance()];
      const before = as.tokenRequests.length;

      // Act
      const results = await Promise.all(
        instances.flatMap(({ cache }) =>
          Array.from({ length: 100 }, () => cache.get({ target: 'demo', subject: 'CICSUSR2' })),
        ),
      );

      // Assess
      const requests = tokenRequestsSince(before);
      console.info(
        `3 instances x 100 concurrent requests: ${requests} AS token request(s), ${aws.countCalls('Sign')} KMS Sign(s)`,
      );
      expect(requests).toBeLessThanOrEqual(1);
      expect(new Set(results.map((r) => r.token.accessToken)).size).toBe(1);
    });

    it("reports a request that waited for another instance's exchange as collapsed, not miss", async () => {
      // Prepare: A's exchange is slow, so B finds A's lease and waits for its token.
      const a = instance({ tokenEndpoint: `${proxy.origin}/token` });
      const b = instance({ settings: { leaseWaitMs: 20_000 } });
      proxy.inject({ kind: 'delay', ms: 1_000 });
      const first = a.cache.get({ target: 'demo', subject: 'LEASE1' });
      await leaseTaken();

      // Act
      const waited = await b.cache.get({ target: 'demo', subject: 'LEASE1' });

      // Assess
      const exchanged = await first;
      expect(exchanged.cache).toBe('miss');
      expect(waited.cache).toBe('collapsed');
      expect(waited.token.accessToken).toBe(exchanged.token.accessToken);
      expect(waited.exchange).toBeUndefined();
    });

    it('takes over at once when the holder gives up without a token, instead of waiting out the lease', async () => {
      // Prepare: A holds the lease, times out once and is then told 429 (it asks nothing more: busy).
      const a = instance({ tokenEndpoint: `${proxy.origin}/token` });
      const b = instance({ settings: { leaseWaitMs: 60_000 } });
      proxy.inject(
        { kind: 'delay', ms: 1_500 },
        { kind: 'status', status: 429, headers: { 'retry-after': '30' } },
      );
      const first = a.cache.get({ target: 'demo', subject: 'LEASE2' }).catch((error: unknown) => error);
      await leaseTaken();

      // Act: B waits for A's lease (60 s at most, past this test's own timeout).
      const taken = await b.cache.get({ target: 'demo', subject: 'LEASE2' });

      // Assess: A gave up; B did not wait out the lease but exchanged itself, once A let go.
      expect(await first).toMatchObject({ code: 'ERR_AS_BUSY', retryAfterSeconds: 30 });
      expect(taken.cache).toBe('miss');
      expect(taken.exchange).toBeDefined();
    });

    it('answers a second request from memory without the AS or DynamoDB', async () => {
      // Prepare
      const { cache } = instance();
      await cache.get({ target: 'demo', subject: 'CICSUSR3' });
      const before = as.tokenRequests.length;
      await dynamo.stop();

      // Act
      const result = await cache.get({ target: 'demo', subject: 'CICSUSR3' });

      // Assess
      expect(result.cache).toBe('hit');
      expect(tokenRequestsSince(before)).toBe(0);
    });
  });

  describe('cache key', () => {
    it('shares a token between scope orders and not between subjects or scopes', async () => {
      // Prepare
      const { cache } = instance({ shared: false });

      // Act
      const ab = await cache.get({ target: 'demo', subject: 'U1', scope: 'a b' });
      const ba = await cache.get({ target: 'demo', subject: 'U1', scope: 'b a' });
      const a = await cache.get({ target: 'demo', subject: 'U1', scope: 'a' });
      const other = await cache.get({ target: 'demo', subject: 'U2', scope: 'a b' });

      // Assess
      expect(ba.token.accessToken).toBe(ab.token.accessToken);
      expect(a.token.accessToken).not.toBe(ab.token.accessToken);
      expect(other.token.accessToken).not.toBe(ab.token.accessToken);
      expect(await subjectOf(other.token.accessToken)).toBe('U2');
    });
  });

  describe('encryption at rest', () => {
    it('stores no plaintext access or refresh token in the table', async () => {
      // Prepare
      const { cache } = instance({ refreshTokens: true });

      // Act
      const { token } = await cache.get({ target: 'demo', subject: 'CICSUSR4' });
      const scan = await dynamo.client.send(new ScanCommand({ TableName: dynamo.tableName }));

      // Assess
      expect(token.refreshToken).toBeTruthy();
      const raw = JSON.stringify(scan.Items, (_key, value) =>
        value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : value,
      );
      expect(scan.Items?.length).toBeGreaterThan(0);
      for (const secret of [token.accessToken, token.refreshToken!]) {
        expect(raw).not.toContain(secret);
        expect(raw).not.toContain(Buffer.from(secret).toString('base64'));
      }
      expect(raw).not.toContain('CICSUSR4');
    });

    it("never serves one user's token to another when their ciphertexts are swapped", async () => {
      // Prepare
      const first = instance();
      const alice = await first.cache.get({ target: 'demo', subject: 'ALICE' });
      const bob = await first.cache.get({ target: 'demo', subject: 'BOB' });
      const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: dynamo.tableName }));
      const tokens = Items.filter((item) => item.kind?.S === 'token');
      expect(tokens).toHaveLength(2);
      const [x, y] = tokens as [Record<string, AttributeValue>, Record<string, AttributeValue>];
      // Swap the sealed payloads (ciphertext, wrapped key, token hash); each item keeps its own key.
      const swaps: Array<[Record<string, AttributeValue>, Record<string, AttributeValue>]> = [
        [x, y],
        [y, x],
      ];
      for (const [into, from] of swaps) {
        const Item = { ...into, ct: from.ct!, wk: from.wk!, th: from.th! };
        await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tableName, Item }));
      }
      const fresh = instance(); // empty memory: must read the table
      const before = as.tokenRequests.length;

      // Act
      const alice2 = await fresh.cache.get({ target: 'demo', subject: 'ALICE' });
      const bob2 = await fresh.cache.get({ target: 'demo', subject: 'BOB' });

      // Assess
      expect(alice2.cache).toBe('miss');
      expect(bob2.cache).toBe('miss');
      expect(tokenRequestsSince(before)).toBe(2);
      expect(await subjectOf(alice2.token.accessToken)).toBe('ALICE');
      expect(await subjectOf(bob2.token.accessToken)).toBe('BOB');
      expect([alice2.token.accessToken, bob2.token.accessToken]).not.toContain(alice.token.accessToken);
      expect([alice2.token.accessToken, bob2.token.accessToken]).not.toContain(bob.token.accessToken);
    });
  });

  describe('freshness (fake clock)', () => {
    let clock: number;
    const now = () => clock;
    beforeEach(() => {
      clock = Date.now();
    });

    it('refreshes inside the refresh window and serves hits before it', async () => {
      // Prepare
      const { cache } = instance({ now, shared: false });
      const first = await cache.get({ target: 'demo', subject: 'R1' });

      // Act
      clock += (900 - 121) * 1000; // 121 s left: outside the 120 s window
      const hit = await cache.get({ target: 'demo', subject: 'R1' });
      clock += 2000; // 119 s left: inside
      const refreshed = await cache.get({ target: 'demo', subject: 'R1' });

      // Assess
      expect(hit.cache).toBe('hit');
      expect(hit.token.accessToken).toBe(first.token.accessToken);
      expect(refreshed.cache).toBe('refresh');
      expect(refreshed.token.accessToken).not.toBe(first.token.accessToken);
    });

    it('uses the refresh token before minting a new assertion', async () => {
      // Prepare
      const { cache } = instance({ now, shared: false, refreshTokens: true });
      await cache.get({ target: 'demo', subject: 'R2' });
      const signs = aws.countCalls('Sign');
      const before = as.tokenRequests.length;

      // Act
      clock += 800 * 1000;
      const refreshed = await cache.get({ target: 'demo', subject: 'R2' });

      // Assess
      expect(refreshed.cache).toBe('refresh');
      expect(as.tokenRequests.slice(before).map((r) => r.grantType)).toEqual(['refresh_token']);
      expect(aws.countCalls('Sign')).toBe(signs);
      expect(await subjectOf(refreshed.token.accessToken)).toBe('R2');
    });

    it('falls back to a new assertion when the server refuses the refresh token', async () => {
      // Prepare
      const { cache } = instance({
        now,
        shared: false,
        refreshTokens: true,
        tokenEndpoint: `${proxy.origin}/token`,
      });
      await cache.get({ target: 'demo', subject: 'R6' });
      clock += 800 * 1000;
      proxy.inject({
        kind: 'status',
        status: 400,
        body: '{"error":"invalid_grant","error_description":"expired"}',
      });
      const before = proxy.requests.length;

      // Act
      const renewed = await cache.get({ target: 'demo', subject: 'R6' });

      // Assess
      expect(renewed.cache).toBe('refresh');
      expect(proxy.requests.length - before).toBe(2);
      expect(renewed.exchange?.assertion).toBeDefined();
      expect(await subjectOf(renewed.token.accessToken)).toBe('R6');
    });

    it('serves the still-valid token when the refresh fails (stale-if-error)', async () => {
      // Prepare
      const { cache, stale } = instance({ now, shared: false, tokenEndpoint: `${proxy.origin}/token` });
      const first = await cache.get({ target: 'demo', subject: 'R3' });
      clock += 800 * 1000;
      // Both attempts of the refresh_token grant; an outage is not retried with a new assertion.
      const outage = { kind: 'status', status: 503 } as const;
      proxy.inject(outage, outage);

      // Act
      const result = await cache.get({ target: 'demo', subject: 'R3' });

      // Assess
      expect(result.cache).toBe('stale');
      expect(result.token.accessToken).toBe(first.token.accessToken);
      expect(stale).toHaveLength(1);
    });

    it('never serves a token with less than the minimum remaining lifetime', async () => {
      // Prepare
      const { cache } = instance({ now, shared: false, tokenEndpoint: `${proxy.origin}/token` });
      const first = await cache.get({ target: 'demo', subject: 'R4' });
      clock += (900 - 29) * 1000; // 29 s left, below the 30 s minimum
      const outage = { kind: 'status', status: 503 } as const;
      proxy.inject(outage, outage);

      // Act
      const failed = cache.get({ target: 'demo', subject: 'R4' });

      // Assess
      await expect(failed).rejects.toMatchObject({ code: 'ERR_AS_UNAVAILABLE' });
      const next = await cache.get({ target: 'demo', subject: 'R4' });
      expect(next.cache).toBe('miss');
      expect(next.token.accessToken).not.toBe(first.token.accessToken);
    });

    it('remembers invalid_grant for 30 s without calling the AS or KMS, then asks again', async () => {
      // Prepare
      const { cache } = instance({ now, audience: 'https://wrong.example' });
      const before = as.tokenRequests.length;
      await expect(cache.get({ target: 'demo', subject: 'R5' })).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      const signs = aws.countCalls('Sign');

      // Act
      const remembered = await cache.get({ target: 'demo', subject: 'R5' }).catch((e: unknown) => e);
      const fromTable = await instance({ now, audience: 'https://wrong.example' })
        .cache.get({ target: 'demo', subject: 'R5' })
        .catch((e: unknown) => e);
      clock += 31_000;
      const again = await cache.get({ target: 'demo', subject: 'R5' }).catch((e: unknown) => e);

      // Assess
      expect(remembered).toMatchObject({ error: 'invalid_grant', fromCache: true });
      expect(fromTable).toMatchObject({ error: 'invalid_grant', fromCache: true });
      expect(again).toMatchObject({ error: 'invalid_grant', fromCache: false });
      expect(tokenRequestsSince(before)).toBe(2);
      expect(aws.countCalls('Sign')).toBe(signs + 1);
    });
  });

  describe('replacement for caching clients (fake clock)', () => {
    it('replaces a token the client already holds at most once per interval, across instances', async () => {
      // Prepare: three instances share the table; the first token is obtained at t = 0.
      let t = 1_700_000_000_000;
      const now = () => t;
      const instances = [instance({ now }), instance({ now }), instance({ now })];
      const request = { target: 'demo', subject: 'CICSUSR9' };
      const replace = { replaceOlderThanMs: 30_000 };
      const first = await instances[0]!.cache.get(request, replace);
      const before = as.tokenRequests.length;

      // Act: a repeat inside the interval; 60 concurrent repeats after it; one more inside the new interval.
      t += 10_000;
      const early = await instances[1]!.cache.get(request, replace);
      t += 21_000;
      const storm = await Promise.all(
        instances.flatMap(({ cache }) => Array.from({ length: 20 }, () => cache.get(request, replace))),
      );
      const stormRequests = tokenRequestsSince(before);
      t += 9_000;
      const later = await instances[2]!.cache.get(request, replace);
      const ordinary = await instances[0]!.cache.get(request);

      // Assess
      expect(first.cache).toBe('miss');
      expect(early).toMatchObject({ cache: 'hit', token: { accessToken: first.token.accessToken } });
      expect(stormRequests).toBe(1);
      const replaced = new Set(storm.map((r) => r.token.accessToken));
      expect(replaced.size).toBe(1);
      expect(replaced.has(first.token.accessToken)).toBe(false);
      expect(later.token.accessToken).toBe(storm[0]!.token.accessToken);
      expect(ordinary.token.accessToken).toBe(storm[0]!.token.accessToken);
      expect(tokenRequestsSince(before)).toBe(1);
      expect(await subjectOf(storm[0]!.token.accessToken)).toBe('CICSUSR9');
    });
  });

  describe('replacement during an outage (issue 17, item 10)', () => {
    it('serves the still-valid cached token when its replacement cannot be signed (KMS down)', async () => {
      // Prepare: a caching client holds a token; past the interval it asks again. The server refuses the
      // refresh token (as it does once one has expired), so the replacement needs a new assertion, and
      // KMS fails every attempt of that Sign (3, the SDK's default: none is left for the next test).
      let t = 1_700_000_000_000;
      const now = () => t;
      const { cache, stale } = instance({ now, shared: false, tokenEndpoint: `${proxy.origin}/token` });
      const request = { target: 'demo', subject: 'CICSUSR10' };
      const replace = { replaceOlderThanMs: 30_000 };
      const first = await cache.get(request, replace);
      t += 31_000;
      proxy.inject({
        kind: 'status',
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'invalid_grant', error_description: 'refresh token expired' }),
      });
      aws.failNext('Sign', 'KMSInternalException', 3);
      const signs = aws.countCalls('Sign');
      const before = proxy.requests.length;

      // Act
      const repeat = await cache.get(request, replace);

      // Assess: the token is valid for another 14 minutes; a 503 would leave the caller with nothing.
      expect(first.token.refreshToken).toBeDefined();
      expect(repeat.cache).toBe('stale');
      expect(repeat.token.accessToken).toBe(first.token.accessToken);
      expect(stale).toHaveLength(1);
      expect(stale[0]).toMatchObject({ code: 'ERR_SIGNING_UNAVAILABLE' });
      expect(proxy.requests.length - before).toBe(1); // the refused refresh only
      expect(aws.countCalls('Sign') - signs).toBe(3);
    });
  });

  describe('replacement only of tokens the client keeps (IBM z/OS Connect rule, fake clock)', () => {
    /** An access token of the given shape: a JWT (never verified by the gateway) or an opaque string. */
    const tokenOf = (shape: 'jwt' | 'jwt+jti' | 'opaque', n: number) => {
      if (shape === 'opaque') return `opaque-token-${n}`;
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const claims = {
        sub: 'CICSUSR1',
        exp: 4_000_000_000,
        n,
        ...(shape === 'jwt+jti' ? { jti: `j${n}` } : {}),
      };
      return `${part({ alg: 'RS256' })}.${part(claims)}.c2ln`;
    };

    it.each([
      ['a JWT without jti, IBM rule', 'jwt', 'jwtWithoutJti', true],
      ['a JWT with jti, IBM rule', 'jwt+jti', 'jwtWithoutJti', false],
      ['a JWT with jti, cacheTokensWithJti', 'jwt+jti', 'jwt', true],
      ['an opaque token, IBM rule', 'opaque', 'jwtWithoutJti', false],
      ['an opaque token, a client that keeps every token', 'opaque', 'any', true],
    ] as const)(
      '%s: replaced when asked for again if the client keeps it, else served',
      async (_name, shape, rule, keeps) => {
        // Prepare: a server answering a new token of that shape each time; the first one at t = 0.
        const server = await startHostileAuthorizationServer();
        server.answer((n) => ({
          status: 200,
          body: { access_token: tokenOf(shape, n), token_type: 'Bearer', expires_in: 3600 },
        }));
        let t = 1_700_000_000_000;
        const { cache } = instance({ now: () => t, shared: false, tokenEndpoint: server.tokenEndpoint });
        const request = { target: 'demo', subject: 'CICSUSR1' };
        const options = { replaceOlderThanMs: 30_000, clientCaches: rule };
        try {
          const first = await cache.get(request, options);

          // Act: the client asks every second for two minutes.
          const answers = [];
          for (let second = 1; second <= 120; second++) {
            t += 1000;
            answers.push(await cache.get(request, options));
          }

          // Assess: a kept token is asked for again only when refused, so each ask after the interval
          // replaces it; one not kept is served: one exchange for the whole two minutes.
          expect(first.cache).toBe('miss');
          if (keeps) {
            expect(answers[29]).toMatchObject({ cache: 'replace' });
            expect(answers[29]!.token.accessToken).not.toBe(first.token.accessToken);
            expect(server.requests).toBe(5);
          } else {
            expect(new Set(answers.map((answer) => answer.cache))).toEqual(new Set(['hit']));
            expect(server.requests).toBe(1);
          }
        } finally {
          await server.close();
        }
      },
    );
  });

  describe('invalidate', () => {
    it('removes the entry only when the presented token is the cached one', async () => {
      // Prepare
      const { cache } = instance();
      const first = await cache.get({ target: 'demo', subject: 'I1' });

      // Act
      const removed = await cache.invalidate({ target: 'demo', subject: 'I1' }, first.token.accessToken);
      const second = await cache.get({ target: 'demo', subject: 'I1' });
      const lateRetry = await cache.invalidate({ target: 'demo', subject: 'I1' }, first.token.accessToken);
      const third = await cache.get({ target: 'demo', subject: 'I1' });

      // Assess
      expect(removed).toBe(true);
      expect(second.cache).toBe('miss');
      expect(lateRetry).toBe(false);
      expect(third.cache).toBe('hit');
      expect(third.token.accessToken).toBe(second.token.accessToken);
    });
  });

  describe('invalidate during a DynamoDB outage', () => {
    it('does not claim the token is gone while the shared item survives, and the refusal wins on recovery', async () => {
      // Prepare: instance A reaches dynalite through a fault proxy; B directly.
      let clock = Date.now();
      const now = () => clock;
      const faults = await startFaultProxy(dynamo.endpoint);
      try {
        const a = instance({ now, dynamoClient: dynamoDbClient(faults.origin) });
        const b = instance({ now });
        const refused = (await a.cache.get({ target: 'demo', subject: 'O1' })).token.accessToken;
        expect((await b.cache.get({ target: 'demo', subject: 'O1' })).token.accessToken).toBe(refused);
        const reset = { kind: 'reset' } as const;
        faults.inject(reset, reset); // both attempts of the SDK's DeleteItem

        // Act
        const during = await a.cache
          .invalidate({ target: 'demo', subject: 'O1' }, refused)
          .catch((error: unknown) => error);
        clock += 61_000; // DynamoDB is back; memory of both instances is due a re-check
        const afterOnA = await a.cache.get({ target: 'demo', subject: 'O1' });
        const afterOnB = await b.cache.get({ target: 'demo', subject: 'O1' });

        // Assess
        expect(during).toMatchObject({ code: 'ERR_CACHE_UNAVAILABLE' });
        expect(afterOnA.token.accessToken).not.toBe(refused);
        expect(afterOnB.token.accessToken).not.toBe(refused);
      } finally {
        await faults.close();
      }
    });
  });

  describe('invalidation across instances', () => {
    it('stops serving a token invalidated through another instance once memory is due a re-check', async () => {
      // Prepare
      let clock = Date.now();
      const now = () => clock;
      const a = instance({ now });
      const b = instance({ now });
      const token = (await a.cache.get({ target: 'demo', subject: 'X1' })).token.accessToken;
      expect((await b.cache.get({ target: 'demo', subject: 'X1' })).token.accessToken).toBe(token);

      // Act
      await a.cache.invalidate({ target: 'demo', subject: 'X1' }, token);
      clock += 30_000;
      const withinAge = await b.cache.get({ target: 'demo', subject: 'X1' });
      clock += 31_000;
      const afterAge = await b.cache.get({ target: 'demo', subject: 'X1' });

      // Assess
      expect(withinAge).toMatchObject({ cache: 'hit' });
      expect(withinAge.token.accessToken).toBe(token);
      expect(afterAge.cache).toBe('miss');
      expect(afterAge.token.accessToken).not.toBe(token);
    });

    it('re-reads the shared item once a minute, not on every request', async () => {
      // Prepare
      let clock = Date.now();
      const now = () => clock;
      const { cache } = instance({ now });
      await cache.get({ target: 'demo', subject: 'X2' });
      clock += 61_000;
      const reads = countGetItems();

      // Act
      const results = [];
      for (let i = 0; i < 5; i++) results.push((await cache.get({ target: 'demo', subject: 'X2' })).cache);

      // Assess: the first one confirmed the entry in DynamoDB; the rest are answered from memory.
      reads.stop();
      expect(results).toEqual(['hit', 'hit', 'hit', 'hit', 'hit']);
      expect(reads.count).toBe(1);
    });

    it('caches a token whose life is shorter than the refresh window for half its life', async () => {
      // Prepare
      let clock = Date.now();
      const now = () => clock;
      const { cache } = instance({
        now,
        shared: false,
        settings: { refreshAheadSeconds: 1000, minRemainingSeconds: 30 },
      });
      const first = await cache.get({ target: 'demo', subject: 'X3' }); // 900 s token: window 450 s

      // Act
      clock += 400_000;
      const second = await cache.get({ target: 'demo', subject: 'X3' });

      // Assess
      expect(second.cache).toBe('hit');
      expect(second.token.accessToken).toBe(first.token.accessToken);
    });
  });

  describe('review cases', () => {
    let clock: number;
    const now = () => clock;
    beforeEach(() => {
      clock = Date.now();
    });
    const scripted = (body: Record<string, unknown>) =>
      ({ kind: 'status', status: 200, body: JSON.stringify({ token_type: 'Bearer', ...body }) }) as const;

    it('keeps the originally granted scope when a refresh response leaves scope out (RFC 6749 6)', async () => {
      // Prepare
      const { cache } = instance({
        now,
        shared: false,
        refreshTokens: true,
        noDefaultScope: true,
        tokenEndpoint: `${proxy.origin}/token`,
      });
      const first = await cache.get({ target: 'demo', subject: 'S1' }); // no scope asked: the server's default
      clock += 800 * 1000;
      proxy.inject(scripted({ access_token: 'renewed-without-scope', expires_in: 900 }));

      // Act
      const renewed = await cache.get({ target: 'demo', subject: 'S1' });

      // Assess
      expect(renewed.cache).toBe('refresh');
      expect(renewed.token.accessToken).toBe('renewed-without-scope');
      expect(renewed.token.scope).toBe(first.token.scope);
      expect(first.token.scope).not.toBe('');
    });

    it('never answers from memory with less than the minimum remaining lifetime, even for short tokens', async () => {
      // Prepare: a 40 s token is cached (more than the 30 s minimum), half its life is 20 s.
      const { cache } = instance({ now, shared: false, tokenEndpoint: `${proxy.origin}/token` });
      proxy.inject(scripted({ access_token: 'short-lived', expires_in: 40, scope: 'a' }));
      await cache.get({ target: 'demo', subject: 'S2' });

      // Act
      clock += 15_000; // 25 s left
      const later = await cache.get({ target: 'demo', subject: 'S2' });

      // Assess
      expect(later.cache).not.toBe('hit');
      expect(later.token.accessToken).not.toBe('short-lived');
    });

    it('serves what the shared layer holds, not a later-expiring token invalidated elsewhere', async () => {
      // Prepare
      const a = instance({ now, tokenEndpoint: `${proxy.origin}/token` });
      const b = instance({ now, tokenEndpoint: `${proxy.origin}/token` });
      const t1 = (await a.cache.get({ target: 'demo', subject: 'S3' })).token.accessToken;
      expect((await b.cache.get({ target: 'demo', subject: 'S3' })).token.accessToken).toBe(t1);
      await a.cache.invalidate({ target: 'demo', subject: 'S3' }, t1);
      proxy.inject(scripted({ access_token: 't2-shorter', expires_in: 300, scope: 'a' }));
      expect((await a.cache.get({ target: 'demo', subject: 'S3' })).token.accessToken).toBe('t2-shorter');

      // Act
      clock += 61_000;
      const seenByB = await b.cache.get({ target: 'demo', subject: 'S3' });

      // Assess
      expect(seenByB.token.accessToken).toBe('t2-shorter');
    });

    it('counts the time KMS took to sign against the deadline of the token request', async () => {
      // Prepare: signing takes 800 ms, the server would stall, the caller needs an answer within 1.2 s.
      const { cache } = instance({ shared: false, tokenEndpoint: `${proxy.origin}/token` });
      aws.setLatency('Sign', 800);
      proxy.inject({ kind: 'delay', ms: 2_000 });
      const started = Date.now();

      // Act
      const error = await cache
        .get({ target: 'demo', subject: 'S5', deadline: started + 1_200 })
        .catch((e: unknown) => e);

      // Assess: the attempt got only what was left after signing (an attempt of its own 1 s would end at 1.8 s).
      aws.setLatency('Sign', 0);
      expect(error).toMatchObject({ code: 'ERR_AS_TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(1_600);
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // let the stalled request drain
    });

    it('asks a failing table once per minute, not on every request', async () => {
      // Prepare
      const { cache } = instance({ now });
      await cache.get({ target: 'demo', subject: 'S4' });
      await dynamo.stop();
      clock += 61_000;
      const reads = countGetItems();

      // Act
      const results = [];
      for (let i = 0; i < 20; i++) results.push((await cache.get({ target: 'demo', subject: 'S4' })).cache);

      // Assess
      reads.stop();
      expect(results.every((result) => result === 'hit')).toBe(true);
      expect(reads.count).toBe(1);
    });
  });

  describe('degradation', () => {
    it('keeps answering when DynamoDB stops in the middle of a test', async () => {
      // Prepare
      const { cache, degraded } = instance();
      await cache.get({ target: 'demo', subject: 'D1' });
      await dynamo.stop();

      // Act
      const results = await Promise.all([
        cache.get({ target: 'demo', subject: 'D1' }),
        cache.get({ target: 'demo', subject: 'D2' }),
        cache.get({ target: 'demo', subject: 'D2' }),
      ]);

      // Assess
      expect(results.map((r) => r.cache)).toEqual(['hit', 'miss', 'miss']);
      expect(await subjectOf(results[1]!.token.accessToken)).toBe('D2');
      expect(degraded.length).toBeGreaterThan(0);
    });

    it('reports KMS unavailable for a cached entry as degraded, not as a silent miss', async () => {
      // Prepare
      await instance().cache.get({ target: 'demo', subject: 'D3' });
      const fresh = instance(); // empty memory and no unwrapped data keys: must ask KMS
      aws.failNext('Decrypt', 'ThrottlingException', 3); // beyond the SDK's own 3 attempts

      // Act
      const result = await fresh.cache.get({ target: 'demo', subject: 'D3' });

      // Assess
      expect(result.cache).toBe('miss');
      expect(fresh.degraded).toContain('GetItem');
      expect(await subjectOf(result.token.accessToken)).toBe('D3');
    });

    it('treats an entry sealed under another KMS key as a plain miss, not an outage', async () => {
      // Prepare: the cache key changed (a new CMK); the old entry can never be read again.
      const otherKey = (await aws.createKey('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT')).keyId;
      const writer = new TokenCache({
        exchanger: new TokenExchanger({
          config: parseConfig({
            signingKeys: { kms: { type: 'kms', keyId: 'unused' } },
            targets: {
              demo: {
                tokenEndpoint: as.tokenEndpoint,
                clientId: 'gw',
                clientAuthentication: { method: 'client_secret_basic', secret: { env: 'SECRET' } },
                assertion: { issuer: 'gateway' },
                scope: 'a',
              },
            },
          }).config,
          keyRing,
          secrets: new SecretResolver({ env: { SECRET } }),
        }),
        local: new MemoryTokenStore(),
        shared: new DynamoDbTokenStore(
          dynamo.client,
          new EnvelopeCipher(new KmsDataKeyProvider(kms, otherKey), {
            rotateAfterMs: 300_000,
            maxCachedKeys: 4,
          }),
          { tableName: dynamo.tableName },
        ),
      });
      await writer.get({ target: 'demo', subject: 'D4' });
      const reader = instance();

      // Act
      const result = await reader.cache.get({ target: 'demo', subject: 'D4' });

      // Assess
      expect(result.cache).toBe('miss');
      expect(reader.degraded).toEqual([]);
    });

    it('works on memory alone (the embedded default)', async () => {
      // Prepare
      const { cache } = instance({ shared: false });

      // Act
      const first = await cache.get({ target: 'demo', subject: 'M1' });
      const second = await cache.get({ target: 'demo', subject: 'M1' });

      // Assess
      expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    });
  });
});
