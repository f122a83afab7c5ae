// npm run bench:storm: a Monday-morning login storm (issue 18) against a rate-limited authorization server
// that verifies every assertion, and KMS throttling Sign, before (the baseline git ref's gateway) and after
// (this tree's), one after the other in the same run. Results: docs/PERFORMANCE.md.
//
// The storm, scaled down for a shared 2-core machine (the was 3,000 users at 100 new users/s
// against 40 token requests/s): BENCH_USERS users arrive at BENCH_ARRIVALS per second, half on POST
// /v1/token and half on the RFC 6749 facade, spread over two gateway instances that share one DynamoDB
// table (dynalite). Each user's client honours Retry-After (1 s when there is none) and gives up after 5
// tries; once served it asks three more times, a second apart (cache hits). The authorization server
// (bench/storm-as.ts) takes BENCH_AS_RATE token requests per second in fixed one-second windows, as Okta
// counts (X-Rate-Limit-* on every answer, 429 beyond), and answers in 50 ms. KMS (the AWS emulator)
// throttles Sign beyond 50 per second. Everything runs on 127.0.0.1; the gateway instances run in a child
// process per variant, with the handlers Lambda runs (API Gateway v2 events, a 29 s deadline).
//
// Printed per variant: the authorization server's requests (and 429s) per second, KMS Sign calls per
// second, answers by status, latencies (first answers, refusals, cache hits, /health), users served, and
// the time until the last user was served.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type AwsEmulator, startAwsEmulator } from '#test/support/aws-emulator.ts';
import { startDynamoDb } from '#test/support/dynalite.ts';
import { ROOT } from '../scripts/build.ts';
import { type StormAuthorizationServer, startStormAuthorizationServer } from './storm-as.ts';
import type { StormReport } from './storm-driver.ts';
import { exitWithUsageIfAsked } from './usage.ts';

exitWithUsageIfAsked(import.meta.url);

const run = promisify(execFile);
const USERS = Number(process.env.BENCH_USERS ?? 300);
const ARRIVALS = Number(process.env.BENCH_ARRIVALS ?? 50);
const AS_RATE = Number(process.env.BENCH_AS_RATE ?? 20);
/** The gateway's admission rate: below the server's, for the jitter between a turn and its arrival. */
const GATEWAY_RATE = Number(process.env.BENCH_GATEWAY_RATE ?? 18);
const BASELINE = process.env.BENCH_BASELINE ?? '5e02040';
const KMS_SIGN_RATE = 50;

async function main(): Promise<void> {
  const aws = await startAwsEmulator();
  const key = await aws.createKey('ECC_NIST_P256', 'SIGN_VERIFY');
  aws.setRateLimit('Sign', KMS_SIGN_RATE);
  const as = await startStormAuthorizationServer({ ratePerSecond: AS_RATE, kms: aws, keyId: key.keyId });
  const baseline = await checkout(BASELINE);
  const reports: Array<{
    label: string;
    report: StormReport;
    as: ReturnType<StormAuthorizationServer['take']>;
    signs: number[];
  }> = [];
  try {
    for (const [label, root] of [
      [`before (${BASELINE})`, baseline],
      ['after', ROOT],
    ] as const) {
      const dynamo = await startDynamoDb();
      as.reset();
      aws.resetCalls();
      const signs = countEverySecond(aws);
      const report = await runVariant(root, label.startsWith('before'), {
        tokenEndpoint: as.tokenEndpoint,
        kms: aws.endpoint,
        keyId: key.keyId,
        dynamodb: dynamo.endpoint,
        tableName: dynamo.tableName,
      });
      reports.push({ label, report, as: as.take(), signs: signs.stop() });
      await dynamo.close();
    }
  } finally {
    await as.close();
    await aws.close();
    await rm(baseline, { recursive: true, force: true });
  }
  print(reports);
}

/** The baseline's tree, from git, with this tree's node_modules. */
async function checkout(ref: string): Promise<string> {
  const tree = await mkdtemp(join(tmpdir(), 'bench-storm-'));
  await run('bash', ['-c', `git -C "${ROOT}" archive "${ref}" | tar -x -C "${tree}"`]);
  await symlink(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  return tree;
}

/** KMS Sign calls (throttled ones included) per second, while it runs. */
function countEverySecond(aws: AwsEmulator): { stop(): number[] } {
  const counts: number[] = [];
  let last = 0;
  const timer = setInterval(() => {
    const now = aws.countCalls('Sign');
    counts.push(now - last);
    last = now;
  }, 1000);
  return {
    stop: () => {
      clearInterval(timer);
      return counts;
    },
  };
}

async function runVariant(
  root: string,
  baseline: boolean,
  endpoints: Record<string, string>,
): Promise<StormReport> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-storm-run-'));
  const settings = join(dir, 'settings.json');
  await writeFile(
    settings,
    JSON.stringify({
      ...endpoints,
      root,
      baseline,
      users: USERS,
      arrivals: ARRIVALS,
      rate: GATEWAY_RATE,
      dir,
    }),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/storm-driver.ts'), settings], {
    cwd: root,
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += String(chunk);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  await rm(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`the storm driver exited with ${code}`);
  return JSON.parse(output.trim().split('\n').at(-1)!) as StormReport;
}

function print(
  reports: Array<{
    label: string;
    report: StormReport;
    as: ReturnType<StormAuthorizationServer['take']>;
    signs: number[];
  }>,
): void {
  console.log(
    `Storm: ${USERS} users at ${ARRIVALS}/s, half /v1/token, half the facade, 2 instances sharing a table; ` +
      `AS limit ${AS_RATE}/s (fixed 1 s windows), gateway admission ${GATEWAY_RATE}/s; KMS Sign limit ${KMS_SIGN_RATE}/s`,
  );
  for (const { label, report, as, signs } of reports) {
    console.log(`\n== ${label}`);
    console.log(`AS requests per second: ${as.perSecond.join(' ')}`);
    console.log(`AS 429 per second:      ${as.throttledPerSecond.join(' ')}`);
    console.log(
      `AS total ${as.total} (429: ${as.throttled}), peak ${Math.max(0, ...as.perSecond)}/s, ` +
        `max in any 5 s ${as.maxIn5s} (limit ${AS_RATE * 5}), in flight peak ${as.peakInFlight}, ` +
        `assertions refused ${as.refused}`,
    );
    console.log(`KMS Sign per second:    ${signs.join(' ')} (peak ${Math.max(0, ...signs)})`);
    console.log(`answers by status: ${JSON.stringify(report.statuses)}`);
    console.log(
      `first-token requests: p50 ${report.first.p50} ms, p99 ${report.first.p99} ms, max ${report.first.max} ms; ` +
        `refusals (5xx): p50 ${report.refusals.p50} ms, p99 ${report.refusals.p99} ms, max ${report.refusals.max} ms, ` +
        `${report.refusalsWithRetryAfter}/${report.refusals.count} with Retry-After`,
    );
    console.log(
      `cache hits: p50 ${report.hits.p50} ms, p99 ${report.hits.p99} ms; /health: quiet p99 ${report.healthQuiet.p99} ms, ` +
        `storm p99 ${report.healthStorm.p99} ms, max ${report.healthStorm.max} ms`,
    );
    console.log(
      `users served ${report.served}/${report.users}, gave up ${report.gaveUp}; tries per user p50 ${report.tries.p50}, max ${report.tries.max}; ` +
        `${report.gaveUp === 0 ? 'all' : 'the last one'} served after ${(report.allServedMs / 1000).toFixed(1)} s ` +
        `(ideal ${(report.users / AS_RATE).toFixed(1)} s at the AS's rate)`,
    );
  }
}

await main();
