// npm run bench:proxy: what proxy mode adds to a call on a token cache hit. The gateway's local runtime
// (npm start on embedded defaults) serves the demo API behind its `demo` target; autocannon calls
// GET /whoami on the demo API directly with a valid token (the API alone: verifying an RFC 9068 JWT), then
// GET /v1/call/demo/whoami on the gateway with the API key and x-subject (gateway + API), alternating
// the two for several rounds in one run. Results as ratios: docs/PERFORMANCE.md, "Proxy overhead".
import type { ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { freePort, median, startScript } from './support.ts';
import { exitWithUsageIfAsked } from './usage.ts';

exitWithUsageIfAsked(import.meta.url);

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const API_KEY = 'bench-api-key';
const SUBJECT = 'CICSUSR1';

interface Result {
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
}

/** npm start in its own process; resolves with the gateway's and the demo API's origins from the banner. */
async function startGateway(port: number): Promise<{ child: ChildProcess; gateway: string; api: string }> {
  const { child, output: banner } = await startScript('lib/local/main.ts', port, API_KEY, '/v1/call/');
  const gateway = /listening on (http:\/\/\S+)/.exec(banner)?.[1];
  const api = /demo API \(behind the demo target\): (http:\/\/\S+)/.exec(banner)?.[1];
  if (!gateway || !api) throw new Error(`unexpected banner:\n${banner}`);
  return { child, gateway, api };
}

async function measure(url: string, headers: Record<string, string>): Promise<Result> {
  const options = { url, method: 'GET' as const, headers, connections: CONNECTIONS };
  await autocannon({ ...options, duration: 2 }); // warm up: JIT, connections, keep-alive to the API
  const result = await autocannon({ ...options, duration: DURATION_SECONDS });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: errors under load`);
  return { requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

async function run(): Promise<void> {
  const { child, gateway, api } = await startGateway(await freePort());
  try {
    // One token request fills the cache; the same token lets the API be called directly.
    const issued = await fetch(`${gateway}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ target: 'demo', subject: SUBJECT }),
    });
    if (issued.status !== 200) throw new Error(`gateway answered ${issued.status}: ${await issued.text()}`);
    const { access_token, token_type } = (await issued.json()) as {
      access_token: string;
      token_type: string;
    };
    const direct = { authorization: `${token_type} ${access_token}` };
    const proxied = { 'x-api-key': API_KEY, 'x-subject': SUBJECT };
    const rounds: Array<{ alone: Result; proxy: Result }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const alone = await measure(`${api}/whoami`, direct);
      const proxy = await measure(`${gateway}/v1/call/demo/whoami`, proxied);
      rounds.push({ alone, proxy });
    }
    console.log(
      `\n${CONNECTIONS} connections, ${DURATION_SECONDS} s per measurement, ${ROUNDS} rounds, node ${process.version}\n`,
    );
    console.log(
      '| round | API alone req/s | API alone p50 / p99 ms | gateway + API req/s | gateway + API p50 / p99 ms | throughput ratio | p50 ratio | p99 ratio |',
    );
    console.log('|---|---|---|---|---|---|---|---|');
    const ratio = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);
    rounds.forEach(({ alone: a, proxy: p }, index) => {
      console.log(
        `| ${index + 1} | ${a.requestsPerSecond.toFixed(0)} | ${a.p50} / ${a.p99} | ${p.requestsPerSecond.toFixed(0)} | ${p.p50} / ${p.p99} | ${ratio(p.requestsPerSecond, a.requestsPerSecond).toFixed(2)} | ${ratio(p.p50, a.p50).toFixed(2)} | ${ratio(p.p99, a.p99).toFixed(2)} |`,
      );
    });
    const medianOf = (pick: (r: { alone: Result; proxy: Result }) => number) =>
      median(rounds.map(pick)).toFixed(2);
    console.log(
      `\nmedian ratios (gateway + API / API alone): throughput ${medianOf((r) => ratio(r.proxy.requestsPerSecond, r.alone.requestsPerSecond))}, ` +
        `p50 latency ${medianOf((r) => ratio(r.proxy.p50, r.alone.p50))}, p99 latency ${medianOf((r) => ratio(r.proxy.p99, r.alone.p99))}`,
    );
  } finally {
    child.kill('SIGTERM');
  }
}

await run();
