import { createServer, request as httpRequest } from 'node:http';
import { listen } from './ports.ts';

export interface RateLimitedProxy {
  /** The proxy's origin; paths are forwarded unchanged to the upstream. */
  readonly origin: string;
  /** When each request arrived (performance.now() ms), and whether it was refused with 429. */
  readonly arrivals: ReadonlyArray<{ readonly at: number; readonly throttled: boolean }>;
  /** The most requests that arrived within any `windowMs` (sliding). */
  maxInWindow(windowMs: number): number;
  /** The most requests forwarded and not yet answered at once. */
  readonly peakInFlight: number;
  close(): Promise<void>;
}

/**
 * An authorization server's rate limit in front of a real one (the demo server): a token bucket of
 * `ratePerSecond` with room for `burst` requests, as rate limiters are built. A request beyond it gets
 * 429 with `Retry-After: 1`, and never reaches the real server; the others are forwarded unchanged.
 */
export async function startRateLimitedProxy(
  upstream: string,
  options: { readonly ratePerSecond: number; readonly burst: number; readonly latencyMs?: number },
): Promise<RateLimitedProxy> {
  const target = new URL(upstream);
  const arrivals: Array<{ at: number; throttled: boolean }> = [];
  let tokens = options.burst;
  let refilledAt = performance.now();
  let inFlight = 0;
  let peakInFlight = 0;
  const server = createServer((req, res) => {
    const now = performance.now();
    tokens = Math.min(options.burst, tokens + ((now - refilledAt) * options.ratePerSecond) / 1000);
    refilledAt = now;
    const throttled = tokens < 1;
    arrivals.push({ at: now, throttled });
    if (throttled) {
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end('{"error":"rate_limited"}');
      return;
    }
    tokens -= 1;
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    res.on('close', () => inFlight--);
    const outbound = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        // A slow server: the answer waits, the request is in flight meanwhile.
        setTimeout(() => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        }, options.latencyMs ?? 0);
      },
    );
    outbound.on('error', () => res.destroy());
    req.pipe(outbound);
  });
  const origin = await listen(server);
  return {
    origin: `${origin}`,
    arrivals,
    get peakInFlight() {
      return peakInFlight;
    },
    maxInWindow(windowMs) {
      let most = 0;
      for (let first = 0, last = 0; last < arrivals.length; last++) {
        while (arrivals[last]!.at - arrivals[first]!.at >= windowMs) first++;
        most = Math.max(most, last - first + 1);
      }
      return most;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
