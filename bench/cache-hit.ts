// npm run bench: cache-hit throughput and latency of the gateway (local runtime, embedded defaults) as a
// ratio to a bare node:http server answering a fixed JSON body, both measured in this run, each in its
// own process, with autocannon at 64 connections. The RFC 6749 facade (POST /oauth2/demo/token, form body,
// HTTP Basic) is measured alike in the same rounds. Results: docs/PERFORMANCE.md.
import type { ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { freePort, median, startScript } from './support.ts';
import { exitWithUsageIfAsked } from './usage.ts';

exitWithUsageIfAsked(import.meta.url);

const CONNECTIONS = 64;
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const API_KEY = 'bench-api-key';
const BODY = JSON.stringify({ target: 'demo', subject: 'CICSUSR1' });
const FORM = 'grant_type=password&username=CICSUSR1&password=unused';
const FACADE_HEADERS = {
  'content-type': 'application/x-www-form-urlencoded',
  authorization: `Basic ${Buffer.from(`demo:${API_KEY}`).toString('base64')}`,
};

interface Result {
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
}

async function startProcess(script: string, port: number): Promise<ChildProcess> {
  return (await startScript(script, port, API_KEY, 'listening on')).child;
}

async function measure(
  name: string,
  url: string,
  headers: Record<string, string>,
  body = BODY,
): Promise<Result> {
  const options = { url, method: 'POST' as const, headers, body, connections: CONNECTIONS };
  await autocannon({ ...options, duration: 2 }); // warm up: JIT, connections, and the cache entry
  const result = await autocannon({ ...options, duration: DURATION_SECONDS });
  return {
    name,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function run(): Promise<void> {
  const [barePort, gatewayPort] = [await freePort(), await freePort()];
  const bare = await startProcess('bench/bare-server.ts', barePort);
  const gateway = await startProcess('lib/local/main.ts', gatewayPort);
  try {
    const headers = { 'content-type': 'application/json', 'x-api-key': API_KEY };
    const primed = await fetch(`http://127.0.0.1:${gatewayPort}/v1/token`, {
      method: 'POST',
      headers,
      body: BODY,
    });
    if (primed.status !== 200) throw new Error(`gateway answered ${primed.status}: ${await primed.text()}`);
    // Alternate the two servers, so a change in the machine's load affects both alike.
    const rounds: Array<{ baseline: Result; cacheHit: Result; facade: Result }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const baseline = await measure('bare node:http', `http://127.0.0.1:${barePort}/`, headers);
      const cacheHit = await measure(
        'gateway cache hit',
        `http://127.0.0.1:${gatewayPort}/v1/token`,
        headers,
      );
      const facade = await measure(
        'facade cache hit',
        `http://127.0.0.1:${gatewayPort}/oauth2/demo/token`,
        FACADE_HEADERS,
        FORM,
      );
      if (cacheHit.non2xx + cacheHit.errors + facade.non2xx + facade.errors > 0)
        throw new Error('the gateway answered errors under load');
      rounds.push({ baseline, cacheHit, facade });
    }
    console.log(
      `\n${CONNECTIONS} connections, ${DURATION_SECONDS} s per measurement, ${ROUNDS} rounds, node ${process.version}\n`,
    );
    console.log(
      '| round | bare req/s | bare p50/p99 ms | gateway req/s | gateway p50/p99 ms | ratio | facade req/s | facade p50/p99 ms | ratio |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    rounds.forEach(({ baseline: b, cacheHit: g, facade: f }, index) => {
      const ratio = g.requestsPerSecond / b.requestsPerSecond;
      const facadeRatio = f.requestsPerSecond / b.requestsPerSecond;
      console.log(
        `| ${index + 1} | ${b.requestsPerSecond.toFixed(0)} | ${b.p50} / ${b.p99} | ${g.requestsPerSecond.toFixed(0)} | ${g.p50} / ${g.p99} | ${ratio.toFixed(2)} | ${f.requestsPerSecond.toFixed(0)} | ${f.p50} / ${f.p99} | ${facadeRatio.toFixed(2)} |`,
      );
    });
    const ratios = rounds.map(
      ({ baseline, cacheHit }) => cacheHit.requestsPerSecond / baseline.requestsPerSecond,
    );
    console.log(`\nmedian throughput ratio (gateway / bare): ${median(ratios).toFixed(2)} (goal >= 0.6)`);
    const facadeRatios = rounds.map(
      ({ baseline, facade }) => facade.requestsPerSecond / baseline.requestsPerSecond,
    );
    console.log(`median throughput ratio (facade / bare): ${median(facadeRatios).toFixed(2)}`);
  } finally {
    bare.kill('SIGTERM');
    gateway.kill('SIGTERM');
  }
}

await run();
