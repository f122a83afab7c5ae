// The authorization server of npm run bench:storm: a token endpoint that verifies every jwt-bearer
// assertion (ES256 signature with the KMS key's public key, issuer, audience, expiry, no replayed jti) and
// limits its rate as Okta does: fixed one-second windows, X-Rate-Limit-Limit / -Remaining / -Reset on
// every answer, 429 beyond the limit. Once, at its `pauseAt`-th request, it also asks for a pause as a
// server under maintenance or overload does (429 with `Retry-After`), and counts every request that
// still arrives inside it (issue 18: never a request inside a Retry-After window it announced). Small on purpose: oidc-provider costs more CPU per request than the
// gateway under test, on a machine shared with it.
import { createPublicKey, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { jwtVerify } from 'jose';
import { type AwsEmulator, awsClientConfig } from '#test/support/aws-emulator.ts';

export const STORM_CLIENT = { id: 'gw', secret: 'storm-client-secret' } as const;
export const STORM_ISSUER = 'gateway';

export interface StormAuthorizationServer {
  readonly tokenEndpoint: string;
  /** Starts counting afresh (a new variant). */
  reset(): void;
  /** What it saw since the last reset, per second from the first request. */
  take(): {
    perSecond: number[];
    throttledPerSecond: number[];
    total: number;
    throttled: number;
    maxIn5s: number;
    peakInFlight: number;
    refused: number;
    /** The announced pause, if it came: when (ms from the first request), and requests inside it. */
    pause: { announcedAtMs: number; seconds: number; inside: number; firstInsideMs: number } | undefined;
  };
  close(): Promise<void>;
}

const LATENCY_MS = 50;

export async function startStormAuthorizationServer(options: {
  readonly ratePerSecond: number;
  /** The request that is answered with a pause of `pauseSeconds` (0: none). */
  readonly pauseAt?: number;
  readonly pauseSeconds?: number;
  readonly kms: AwsEmulator;
  readonly keyId: string;
}): Promise<StormAuthorizationServer> {
  const kms = new KMSClient(awsClientConfig(options.kms));
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: options.keyId }));
  const publicKey = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
  const basic = `Basic ${Buffer.from(`${STORM_CLIENT.id}:${STORM_CLIENT.secret}`).toString('base64')}`;
  let arrivals: Array<{ at: number; throttled: boolean }> = [];
  let seen = new Set<string>();
  let window = 0;
  let inWindow = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  let refused = 0;
  let pause: { at: number; until: number; inside: number; firstInside: number } | undefined;
  let tokenEndpoint = '';
  const pauseSeconds = options.pauseSeconds ?? 0;

  const server = createServer(async (req, res) => {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== window) {
      window = second;
      inWindow = 0;
    }
    inWindow++;
    const remaining = Math.max(0, options.ratePerSecond - inWindow);
    const limits = {
      'x-rate-limit-limit': String(options.ratePerSecond),
      'x-rate-limit-remaining': String(remaining),
      'x-rate-limit-reset': String(second + 1),
    };
    const throttled = inWindow > options.ratePerSecond;
    const arrival = { at: now, throttled };
    const index = arrivals.push(arrival);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...limits });
      res.end(JSON.stringify(body));
    };
    if (pause && now >= pause.at && now < pause.until) {
      pause.inside++;
      arrival.throttled = true;
      if (pause.inside === 1) pause.firstInside = now - pause.at;
      const left = String(Math.ceil((pause.until - now) / 1000));
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': left, ...limits });
      return res.end('{"error":"temporarily_unavailable"}');
    }
    if (!pause && pauseSeconds > 0 && index === options.pauseAt) {
      pause = { at: now, until: now + pauseSeconds * 1000, inside: 0, firstInside: -1 };
      arrival.throttled = true;
      res.writeHead(429, {
        'content-type': 'application/json',
        'retry-after': String(pauseSeconds),
        ...limits,
      });
      return res.end('{"error":"temporarily_unavailable"}');
    }
    if (throttled)
      return answer(429, { errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit' });
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    try {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (req.headers.authorization !== basic) return answer(401, { error: 'invalid_client' });
      const { payload } = await jwtVerify(form.get('assertion') ?? '', publicKey, {
        issuer: STORM_ISSUER,
        audience: tokenEndpoint,
        algorithms: ['ES256'],
      });
      if (typeof payload.jti !== 'string' || seen.has(payload.jti)) throw new Error('replayed jti');
      seen.add(payload.jti);
      await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
      answer(200, {
        access_token: randomBytes(24).toString('base64url'),
        token_type: 'Bearer',
        expires_in: 3600,
        scope: form.get('scope') ?? 'a',
      });
    } catch {
      refused++;
      answer(400, { error: 'invalid_grant' });
    } finally {
      inFlight--;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokenEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return {
    tokenEndpoint,
    reset: () => {
      arrivals = [];
      seen = new Set();
      peakInFlight = 0;
      refused = 0;
      pause = undefined;
    },
    take: () => {
      const start = arrivals[0]?.at ?? 0;
      const perSecond: number[] = [];
      const throttledPerSecond: number[] = [];
      for (const { at, throttled } of arrivals) {
        const index = Math.floor((at - start) / 1000);
        while (perSecond.length <= index) {
          perSecond.push(0);
          throttledPerSecond.push(0);
        }
        perSecond[index]!++;
        if (throttled) throttledPerSecond[index]!++;
      }
      let maxIn5s = 0;
      for (let first = 0, last = 0; last < arrivals.length; last++) {
        while (arrivals[last]!.at - arrivals[first]!.at >= 5000) first++;
        maxIn5s = Math.max(maxIn5s, last - first + 1);
      }
      const throttled = arrivals.filter((arrival) => arrival.throttled).length;
      return {
        perSecond,
        throttledPerSecond,
        total: arrivals.length,
        throttled,
        maxIn5s,
        peakInFlight,
        refused,
        pause: pause && {
          announcedAtMs: pause.at - start,
          seconds: pauseSeconds,
          inside: pause.inside,
          firstInsideMs: pause.firstInside,
        },
      };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
