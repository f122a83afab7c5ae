// npm run bench:storm: a Monday-morning login storm (issue 18) against a rate-limited authorization server
// that verifies every assertion, and KMS throttling Sign, before (the baseline git ref's gateway) and after
// (this tree's), one after the other in the same run. Results: docs/PERFORMANCE.md.
//
// The storm, scaled down for a shared 2-core machine (the issue's was 3,000 users at 100 new users/s
// against 40 token requests/s): BENCH_USERS users arrive at BENCH_ARRIVALS per second, half on POST
// /v1/token and half on the RFC 6749 facade, spread over two gateway instances that share one DynamoDB
// table (dynalite). Each user's client honours Retry-After (1 s when there is none) and gives up after 5
// tries; once served it asks three more times, a second apart (cache hits). The authorization server
// (bench/storm-as.ts) takes BENCH_AS_RATE token requests per second in fixed one-second windows, as Okta
// counts (X-Rate-Limit-* on every answer, 429 beyond), and answers in 50 ms; at its BENCH_AS_PAUSE_AT-th
// request it asks for a pause of BENCH_AS_PAUSE_SECONDS (429 with Retry-After). KMS (the AWS emulator)
// throttles Sign beyond 50 per second. Everything runs on 127.0.0.1; the gateway instances run in a child
// process per variant, with the handlers Lambda runs (API Gateway v2 events, a 29 s deadline).
//
// Before the storm, each variant serves two probe users and for 5 s measures their cache hits and /health
// every 50 ms; it goes on doing so during the storm: the same probes, quiet and in the storm, compare.
// Printed per variant: the authorization server's requests (and 429s) per second, requests inside its
// announced pause, KMS Sign calls per second, answers by status, latencies (first answers, refusals,
// cache hits, /health quiet and in the storm), users served, the time until the last user was served,
// the refusals over 100 ms grouped by the admission's reason (with the time inside the admission and in
// each kind of DynamoDB call), and one "goal" line with issue 18's goal as ratios.
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
/** The server asks for a pause of this long (429 with Retry-After) at its BENCH_AS_PAUSE_AT-th request. */
const PAUSE_SECONDS = Number(process.env.BENCH_AS_PAUSE_SECONDS ?? 3);
const PAUSE_AT = Number(process.env.BENCH_AS_PAUSE_AT ?? 100);

async function main(): Promise<void> {
  const aws = await startAwsEmulator();
  const key = await aws.createKey('ECC_NIST_P256', 'SIGN_VERIFY');
  aws.setRateLimit('Sign', KMS_SIGN_RATE);
  const as = await startStormAuthorizationServer({
    ratePerSecond: AS_RATE,
    pauseAt: PAUSE_AT,
    pauseSeconds: PAUSE_SECONDS,
    kms: aws,
    keyId: key.keyId,
  });
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
      let signs = countEverySecond(aws);
      // Counted from the storm's start: the driver's probe users were served before it.
      const stormStarts = () => {
        signs.stop();
        as.reset();
        aws.resetCalls();
        signs = countEverySecond(aws);
      };
      const report = await runVariant(
        root,
        label.startsWith('before'),
        {
          tokenEndpoint: as.tokenEndpoint,
          kms: aws.endpoint,
          keyId: key.keyId,
          dynamodb: dynamo.endpoint,
          tableName: dynamo.tableName,
        },
        stormStarts,
      );
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
  stormStarts: () => void,
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
  let started = false;
  child.stdout.on('data', (chunk) => {
    output += String(chunk);
    if (!started && output.includes('{"phase":"storm"}')) {
      started = true;
      stormStarts();
    }
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
    const pause = as.pause;
    console.log(
      pause === undefined
        ? 'announced pause: none (the server never reached its pause request)'
        : `announced pause: Retry-After ${pause.seconds} s at ${(pause.announcedAtMs / 1000).toFixed(1)} s; ` +
            `requests inside it ${pause.inside}${pause.inside > 0 ? ` (the first ${pause.firstInsideMs} ms after)` : ''}`,
    );
    console.log(`KMS Sign per second:    ${signs.join(' ')} (peak ${Math.max(0, ...signs)})`);
    console.log(`answers by status: ${JSON.stringify(report.statuses)}`);
    console.log(
      `first-token requests: p50 ${report.first.p50} ms, p99 ${report.first.p99} ms, max ${report.first.max} ms; ` +
        `refusals (5xx): p50 ${report.refusals.p50} ms, p99 ${report.refusals.p99} ms, max ${report.refusals.max} ms, ` +
        `${report.refusalsWithRetryAfter}/${report.refusals.count} with Retry-After`,
    );
    const slow = report.slowRefusals;
    const when = (values: number[]) => `${Math.min(...values)}-${Math.max(...values)} s`;
    console.log(
      `refusals over 100 ms: ${slow.length}` +
        (slow.length === 0
          ? ''
          : `, asked ${when(slow.map((r) => r.atS))} into the storm (the server's own clock: the pause came at ` +
            `${pause === undefined ? 'none' : `${(pause.announcedAtMs / 1000).toFixed(1)} s`})`),
    );
    for (const line of slowByReason(slow)) console.log(`  ${line}`);
    console.log(`cache hits of storm users: p50 ${report.hits.p50} ms, p99 ${report.hits.p99} ms`);
    console.log(
      `probe cache hits: quiet p50 ${report.hitsQuiet.p50} / p99 ${report.hitsQuiet.p99} ms (${report.hitsQuiet.count}), ` +
        `storm p50 ${report.hitsStorm.p50} / p99 ${report.hitsStorm.p99} ms (${report.hitsStorm.count}), max ${report.hitsStorm.max} ms`,
    );
    console.log(
      `/health (lateness against a 50 ms schedule): quiet p99 ${report.healthQuiet.p99} ms (${report.healthQuiet.count}), ` +
        `storm p99 ${report.healthStorm.p99} ms (${report.healthStorm.count}), max ${report.healthStorm.max} ms`,
    );
    console.log(
      `users served ${report.served}/${report.users}, gave up ${report.gaveUp}; tries per user p50 ${report.tries.p50}, max ${report.tries.max}; ` +
        `${report.gaveUp === 0 ? 'all' : 'the last one'} served after ${(report.allServedMs / 1000).toFixed(1)} s ` +
        `(ideal ${(report.users / AS_RATE).toFixed(1)} s at the AS's rate)`,
    );
    const ratio = (storm: number, quiet: number) => (quiet > 0 ? (storm / quiet).toFixed(2) : 'n/a');
    console.log(
      `goal: AS most in any 5 s ${as.maxIn5s} = ${ratio(as.maxIn5s, AS_RATE * 5)} of its limit, ` +
        `${ratio(as.maxIn5s, GATEWAY_RATE * 5)} of the gateway's configured rate (at most 1.10); ` +
        `inside the announced pause ${pause?.inside ?? 'n/a'} (0); KMS Sign peak ${Math.max(0, ...signs)} = ` +
        `${ratio(Math.max(0, ...signs), KMS_SIGN_RATE)} of its limit (below 1); refusal p99 ${report.refusals.p99} ms (at most 100), ` +
        `${report.refusalsWithRetryAfter}/${report.refusals.count} with Retry-After; ` +
        `cache-hit p99 storm/quiet ${ratio(report.hitsStorm.p99, report.hitsQuiet.p99)}, ` +
        `/health p99 storm/quiet ${ratio(report.healthStorm.p99, report.healthQuiet.p99)} (about 1)`,
    );
  }
}

/**
 * The refusals over 100 ms grouped by reason: how many, their time (p50 / max), the share of it inside the
 * admission (table calls and waiting for a turn) and the mean time per DynamoDB call kind.
 */
function slowByReason(slow: StormReport['slowRefusals']): string[] {
  const groups = new Map<string, StormReport['slowRefusals']>();
  for (const refusal of slow) groups.set(refusal.reason, [...(groups.get(refusal.reason) ?? []), refusal]);
  return [...groups].map(([reason, refusals]) => {
    const ms = refusals.map((r) => r.ms).sort((a, b) => a - b);
    const mean = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0) / values.length);
    const calls = new Map<string, { ms: number; count: number }>();
    for (const r of refusals) {
      for (const [name, call] of Object.entries(r.dynamodb)) {
        const sum = calls.get(name) ?? { ms: 0, count: 0 };
        calls.set(name, { ms: sum.ms + call.ms, count: sum.count + call.count });
      }
    }
    const dynamodb = [...calls]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([name, c]) => `${name} ${c.count}x ${Math.round(c.ms / c.count)} ms`)
      .join(', ');
    return (
      `${reason}: ${refusals.length}, p50 ${ms[Math.floor(ms.length / 2)]} / max ${ms.at(-1)} ms, ` +
      `mean ${mean(ms)} ms of which in admission ${mean(refusals.map((r) => r.admissionMs))} ms, ` +
      `asked ${Math.min(...refusals.map((r) => r.atS))}-${Math.max(...refusals.map((r) => r.atS))} s; ` +
      `DynamoDB (calls, mean each): ${dynamodb || 'none'}`
    );
  });
}

await main();
