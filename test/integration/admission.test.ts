import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Admission } from '#lib/admission/admission.ts';
import { DynamoDbAdmissionStore } from '#lib/admission/dynamodb-admission-store.ts';
import { admissionReport } from '#lib/admission/report.ts';
import { AwsAdapters } from '#lib/aws-adapters.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import type { GatewayConfig, TargetConfig } from '#lib/config/schema.ts';
import { GatewayError } from '#lib/errors.ts';
import { toApiError } from '#lib/http/api-errors.ts';
import { signingKeyRing } from '#lib/key-ring-composition.ts';
import {
  type DemoAuthorizationServer,
  startDemoAuthorizationServer,
} from '#lib/local/demo-authorization-server.ts';
import { TokenExchanger } from '#lib/oauth/token-exchanger.ts';
import { powertoolsMetrics } from '#lib/observability/metrics.ts';
import { SecretResolver } from '#lib/secrets/resolve-secret.ts';
import { SigningKeyRing } from '#lib/signing/key-ring.ts';
import { KmsSigner } from '#lib/signing/kms-signer.ts';
import { type AwsEmulator, awsClientConfig, startAwsEmulator } from '#test/support/aws-emulator.ts';
import { type LocalDynamoDb, startDynamoDb } from '#test/support/dynalite.ts';
import { type FaultProxy, startFaultProxy } from '#test/support/fault-proxy.ts';
import { serveJwks } from '#test/support/jwks-server.ts';
import { type RateLimitedProxy, startRateLimitedProxy } from '#test/support/rate-limited-proxy.ts';

/**
 * Admission against real parts: the demo authorization server (oidc-provider, verifying every assertion)
 * behind a rate limiter or a fault proxy, KMS through the AWS emulator, and two gateway instances (each its
 * own exchanger and admission) sharing one dynalite table, as two Lambda instances share DynamoDB.
 */

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const SECRET = 'admission-client-secret';

let aws: AwsEmulator;
let kms: KMSClient;
let signingKeyId: string;
let as: DemoAuthorizationServer;
let jwks: { url: string; close(): Promise<void> };
let dynamo: LocalDynamoDb;

beforeAll(async () => {
  aws = await startAwsEmulator();
  kms = new KMSClient({ ...awsClientConfig(aws), maxAttempts: 1 });
  signingKeyId = (await aws.createKey('ECC_NIST_P256', 'SIGN_VERIFY')).keyId;
  jwks = await serveJwks(
    new SigningKeyRing([{ signer: new KmsSigner(kms, { id: 'kms', keyId: signingKeyId }), retired: false }]),
  );
  as = await startDemoAuthorizationServer({
    clients: [
      {
        client_id: 'gw',
        client_secret: SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [JWT_BEARER],
        scope: 'a',
      },
    ],
    trustedIssuers: [{ issuer: 'gateway', jwksUri: jwks.url, clientIds: ['gw'] }],
    accessTokenTtlSeconds: 900,
  });
}, 30_000);

afterAll(async () => {
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
  readonly config: GatewayConfig;
  readonly keyRing: SigningKeyRing;
  readonly exchanger: TokenExchanger;
  readonly admission: Admission;
  /** How often a request slept for its turn. */
  readonly sleeps: number[];
}

/** One gateway instance: its own exchanger, key ring and admission; the shared table unless `shared: false`. */
function instance(
  tokenEndpoint: string,
  admission: Partial<TargetConfig['admission']>,
  options: { shared?: boolean; signsPerSecond?: number } = {},
): Instance {
  const { config } = parseConfig({
    signingKeys: {
      kms: { type: 'kms', keyId: signingKeyId, signsPerSecond: options.signsPerSecond ?? 1000 },
    },
    targets: {
      demo: {
        tokenEndpoint,
        clientId: 'gw',
        clientAuthentication: { method: 'client_secret_basic', secret: { env: 'SECRET' } },
        assertion: { issuer: 'gateway', audience: { value: as.tokenEndpoint } },
        scope: 'a',
        timeoutMs: 2000,
        admission,
      },
    },
    admission: { fallbackInstances: 1 },
  });
  const sleeps: number[] = [];
  const gate = new Admission({
    shared:
      options.shared === false
        ? undefined
        : new DynamoDbAdmissionStore(dynamo.client, { tableName: dynamo.tableName }),
    fallbackInstances: 1,
    sleep: (ms) => {
      sleeps.push(ms);
      return new Promise((resolve) => setTimeout(resolve, ms));
    },
  });
  const keyRing = signingKeyRing(
    config,
    new AwsAdapters({ kms }),
    powertoolsMetrics,
    new SecretResolver({ env: {} }),
    gate,
  );
  const exchanger = new TokenExchanger({
    config,
    keyRing,
    secrets: new SecretResolver({ env: { SECRET } }),
    retry: { sleep: async () => undefined },
    admission: gate,
  });
  return { config, keyRing, exchanger, admission: gate, sleeps };
}

/** What a request ended with: its token's subject, or the gateway error code and Retry-After. */
async function outcome(exchanger: TokenExchanger, subject: string, deadline = Date.now() + 20_000) {
  try {
    await exchanger.exchange({ target: 'demo', subject, deadline });
    return { ok: true as const };
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return { ok: false as const, code: error.code, retryAfter: error.retryAfterSeconds };
  }
}

describe('Admission', () => {
  describe('rate across instances', () => {
    let limiter: RateLimitedProxy;
    beforeEach(async () => {
      // Half a second of burst: a turn is taken before the assertion is signed, so a slow signature on a
      // loaded machine delays one request towards the next (real limiters count per minute).
      limiter = await startRateLimitedProxy(as.issuer, { ratePerSecond: 10, burst: 5 });
      return () => limiter.close();
    });

    it('keeps a rate-limited server under its rate from two instances sharing a table', async () => {
      // Prepare: 40 users at once, 20 on each instance, against a server taking 10 requests/s.
      const limits = { requestsPerSecond: 10, maxWaitMs: 1500, queueSeconds: 0 };
      const a = instance(`${limiter.origin}/token`, limits);
      const b = instance(`${limiter.origin}/token`, limits);

      // Act
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => outcome((i % 2 ? a : b).exchanger, `USER${i}`)),
      );

      // Assess: never a 429; the server saw at most its rate (10% over it within any second at most).
      expect(limiter.arrivals.filter((arrival) => arrival.throttled)).toEqual([]);
      expect(limiter.maxInWindow(1000)).toBeLessThanOrEqual(11);
      expect(limiter.maxInWindow(2000)).toBeLessThanOrEqual(22);
      const served = results.filter((result) => result.ok).length;
      expect(served).toBe(limiter.arrivals.length);
      // The rest were refused with a Retry-After, never sent.
      const refused = results.filter((result) => !result.ok);
      expect(refused.length).toBeGreaterThan(0);
      for (const refusal of refused) {
        expect(refusal).toMatchObject({ code: 'ERR_AS_BUSY', retryAfter: expect.any(Number) });
      }
    });
  });

  describe('concurrency', () => {
    it('keeps a slow server at its cap of requests in flight, across instances', async () => {
      // Prepare: a server taking 400 ms per answer; 3 requests in flight at most.
      const slow = await startRateLimitedProxy(as.issuer, {
        ratePerSecond: 1000,
        burst: 1000,
        latencyMs: 400,
      });
      const limits = { requestsPerSecond: 1000, maxConcurrent: 3 };
      const a = instance(`${slow.origin}/token`, limits);
      const b = instance(`${slow.origin}/token`, limits);

      // Act: 16 users at once.
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => outcome((i % 2 ? a : b).exchanger, `SLOW${i}`)),
      );
      await slow.close();

      // Assess: never more than 3 at the server; the others were refused with a Retry-After, not queued.
      expect(slow.peakInFlight).toBeLessThanOrEqual(3);
      expect(results.filter((result) => result.ok)).toHaveLength(slow.arrivals.length);
      for (const refusal of results.filter((result) => !result.ok)) {
        expect(refusal).toMatchObject({ code: 'ERR_AS_BUSY', retryAfter: 1 });
      }
    });
  });

  describe('DynamoDbAdmissionStore', () => {
    it('schedules turns one interval apart across stores, and refuses beyond the horizon', async () => {
      // Prepare: two instances' stores on one table.
      const one = new DynamoDbAdmissionStore(dynamo.client, { tableName: dynamo.tableName });
      const two = new DynamoDbAdmissionStore(dynamo.client, { tableName: dynamo.tableName });
      const now = Date.now();

      // Act
      const turns = [
        await one.reserve('as:t', 100, 250, now),
        await two.reserve('as:t', 100, 250, now),
        await one.reserve('as:t', 100, 250, now),
        await two.reserve('as:t', 100, 250, now),
        await one.reserve('as:t', 100, 250, now),
      ];

      // Assess
      expect(turns).toEqual([
        { at: now },
        { at: now + 100 },
        { at: now + 200 },
        { full: true, freeAt: now + 300 },
        { full: true, freeAt: now + 300 },
      ]);
    });

    it('puts no turn inside a back-off window, and never shortens one', async () => {
      // Prepare
      const store = new DynamoDbAdmissionStore(dynamo.client, { tableName: dynamo.tableName });
      const now = Date.now();
      await store.reserve('as:t', 100, 0, now);

      // Act
      await store.openBackoff('as:t', now + 30_000);
      await store.openBackoff('as:t', now + 10_000);
      const during = await store.reserve('as:t', 100, 60_000, now + 1000);

      // Assess
      expect(await store.state('as:t')).toEqual({ backoffUntil: now + 30_000, nextTurnAt: now + 30_100 });
      expect(during).toEqual({ at: now + 30_000 });
    });

    it('holds at most max slots, and gives a reserved turn to one taker only', async () => {
      // Prepare
      const store = new DynamoDbAdmissionStore(dynamo.client, { tableName: dynamo.tableName });
      const until = Date.now() + 10_000;
      const turn = { at: Date.now() + 5000, until };

      // Act
      const slots = [
        await store.acquireSlot('as:t', 2, 'h1', until),
        await store.acquireSlot('as:t', 2, 'h2', until),
        await store.acquireSlot('as:t', 2, 'h3', until),
      ];
      await store.releaseSlot('as:t', 'h1');
      const afterRelease = await store.acquireSlot('as:t', 2, 'h4', until);
      await store.putTurn('as:t', 'key', turn);
      const found = await store.getTurn('as:t', 'key');
      const taken = [await store.takeTurn('as:t', 'key', turn), await store.takeTurn('as:t', 'key', turn)];

      // Assess
      expect(slots).toEqual([true, true, false]);
      expect(afterRelease).toBe(true);
      expect(found).toEqual(turn);
      expect(taken).toEqual([true, false]);
      expect(await store.getTurn('as:t', 'key')).toBeUndefined();
    });
  });

  describe('back-off', () => {
    let faults: FaultProxy;
    beforeEach(async () => {
      faults = await startFaultProxy(as.issuer);
      return () => faults.close();
    });

    it('honours a Retry-After: 30 on every instance, refusing at once without a request', async () => {
      // Prepare
      const a = instance(`${faults.origin}/token`, {});
      const b = instance(`${faults.origin}/token`, {});
      faults.inject({ kind: 'status', status: 429, headers: { 'retry-after': '30' }, body: '{}' });

      // Act
      const first = await outcome(a.exchanger, 'CICSUSR1');
      const signsAfterFirst = aws.countCalls('Sign');
      const fromB = await outcome(b.exchanger, 'CICSUSR2');
      const againFromA = await outcome(a.exchanger, 'CICSUSR3');

      // Assess: one request reached the server, the one it answered 429; no retry inside the request.
      expect(faults.requests).toHaveLength(1);
      expect(first).toEqual({ ok: false, code: 'ERR_AS_BUSY', retryAfter: 30 });
      // The other instance learnt it from the table: refused with the remaining time, nothing signed.
      expect(fromB.code).toBe('ERR_AS_BUSY');
      expect(fromB.retryAfter).toBeGreaterThanOrEqual(28);
      expect(fromB.retryAfter).toBeLessThanOrEqual(30);
      expect(againFromA.code).toBe('ERR_AS_BUSY');
      expect(aws.countCalls('Sign')).toBe(signsAfterFirst);
      // Nobody slept through the window.
      expect([...a.sleeps, ...b.sleeps]).toEqual([]);
      // GET /v1/ready shows the window on either instance, read from the table.
      const report = (await admissionReport(b.admission, b.config)).demo!;
      expect(report.shared).toBe(true);
      expect(Date.parse(report.backoff_until!) - Date.now()).toBeGreaterThan(25_000);
      expect(report.next_turn_in_ms).toBeGreaterThan(25_000);
    });

    it('sends nothing that was admitted before a pause this instance learnt of while it was being signed', async () => {
      // Prepare: KMS takes 400 ms to sign; 100 ms into a request's signature, another request's answer
      // opens a 30 s window (as a 429 with Retry-After: 30 would).
      const a = instance(`${faults.origin}/token`, {}, { shared: false });
      aws.setLatency('Sign', 400);
      try {
        // Act
        const signing = outcome(a.exchanger, 'CICSUSR4');
        await new Promise((resolve) => setTimeout(resolve, 100));
        await a.admission.openBackoff('as:demo', Date.now() + 30_000);
        const answer = await signing;

        // Assess: the server asked for the pause before this request left: it is refused, not sent.
        expect(answer.code).toBe('ERR_AS_BUSY');
        expect(answer.retryAfter).toBeGreaterThanOrEqual(29);
        expect(faults.requests).toHaveLength(0);
      } finally {
        aws.setLatency('Sign', 0);
      }
    });

    it('answers refusals as 503 upstream_busy with the Retry-After', async () => {
      // Prepare
      const a = instance(`${faults.origin}/token`, {});
      await a.admission.openBackoff('as:demo', Date.now() + 12_000);

      // Act
      let failure: unknown;
      await a.exchanger.exchange({ target: 'demo', subject: 'CICSUSR1' }).catch((error) => {
        failure = error;
      });
      const answer = toApiError(failure);

      // Assess
      expect(faults.requests).toHaveLength(0);
      expect(a.sleeps).toEqual([]);
      expect(answer.status).toBe(503);
      expect(answer.code).toBe('upstream_busy');
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(11);
      expect(Number(answer.headers['retry-after'])).toBeLessThanOrEqual(12);
    });

    it('falls back to this instance alone when the table fails', async () => {
      // Prepare
      const a = instance(`${faults.origin}/token`, {});
      await dynamo.stop();

      // Act
      const result = await outcome(a.exchanger, 'CICSUSR1');

      // Assess
      expect(result).toEqual({ ok: true });
      expect((await a.admission.report('as:demo')).shared).toBe(false);
    });
  });

  describe('KMS', () => {
    it('answers a KMS throttle with 503 signing_unavailable and a Retry-After, then rests', async () => {
      // Prepare
      const a = instance(as.tokenEndpoint, {});
      aws.failNext('Sign', 'ThrottlingException', 1);
      const before = as.tokenRequests.length;

      // Act
      let failure: unknown;
      await a.exchanger.exchange({ target: 'demo', subject: 'CICSUSR1' }).catch((error) => {
        failure = error;
      });
      const second = await outcome(a.exchanger, 'CICSUSR2');

      // Assess
      const answer = toApiError(failure);
      expect(answer.status).toBe(503);
      expect(answer.code).toBe('signing_unavailable');
      expect(answer.headers['retry-after']).toBe('2');
      // The next signature is refused without asking KMS again, inside the back-off.
      expect(second).toMatchObject({ ok: false, code: 'ERR_SIGNING_UNAVAILABLE' });
      expect(aws.countCalls('Sign')).toBe(1);
      expect(as.tokenRequests.length).toBe(before);
    });

    it('keeps KMS Sign under its rate per key', async () => {
      // Prepare: 5 signatures per second, half a second of waiting at most; 10 signatures asked at once.
      // In memory (the lane's shared state is the same code as a target's, tested on dynalite above), so
      // all 10 meet the schedule within a millisecond whatever the machine's load.
      const a = instance(as.tokenEndpoint, {}, { signsPerSecond: 5, shared: false });
      const signer = a.keyRing.signer('kms');
      await signer.describe();

      // Act
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          signer.sign(new TextEncoder().encode('header.payload')).then(
            () => 'signed',
            (error: GatewayError) => ({ code: error.code, retryAfter: error.retryAfterSeconds }),
          ),
        ),
      );

      // Assess: the turns now, +200 ms and +400 ms were signed; the rest refused with a Retry-After, never
      // sent to KMS.
      expect(aws.countCalls('Sign')).toBe(3);
      expect(results.filter((result) => result === 'signed')).toHaveLength(3);
      for (const refusal of results.filter((result) => result !== 'signed')) {
        expect(refusal).toEqual({ code: 'ERR_SIGNING_UNAVAILABLE', retryAfter: 1 });
      }
    });
  });
});
