// npm run bench:bundles: the size of each Lambda bundle and its cold start, i.e. a fresh Node process
// importing the bundle (module init, the configuration load included) and answering its first invocation
// with an API Gateway v2 event, network excluded (a local signing key; the token request is refused for
// lack of a caller credential before anything leaves the process). Median of RUNS processes per function,
// after one discarded run that warms the file system cache. Results: docs/PERFORMANCE.md.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { httpApiEvent } from '#test/support/api-gateway-events.ts';
import { build, ROOT } from '../scripts/build.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const SIZE_GOAL_BYTES = 1_000_000;
const COLD_START_GOAL_MS = 150;

const EVENTS = {
  health: httpApiEvent({ method: 'GET', path: '/health' }),
  jwks: httpApiEvent({ method: 'GET', path: '/.well-known/jwks.json' }),
  token: httpApiEvent({ method: 'POST', path: '/v1/token', body: { target: 'demo', subject: 'CICSUSR1' } }),
} as const;

interface Run {
  readonly importMs: number;
  readonly invokeMs: number;
  readonly statusCode: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function coldStart(file: string, event: unknown, env: NodeJS.ProcessEnv): Promise<Run> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'scripts', 'invoke-bundle.mjs'), file, JSON.stringify(event)],
    {
      env: { PATH: process.env.PATH, AWS_REGION: 'eu-central-1', AWS_EC2_METADATA_DISABLED: 'true', ...env },
    },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('@@result '));
  if (!line) throw new Error(`${file}: no result\n${stdout}`);
  return JSON.parse(line.slice('@@result '.length)) as Run;
}

async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-bundles-'));
  try {
    const config = join(dir, 'gateway.yaml');
    await writeFile(
      config,
      [
        'environment: production',
        'signingKeys:',
        `  primary: { type: local, path: ${join(dir, 'key.json')}, generate: true }`,
        'targets:',
        '  demo: { tokenEndpoint: https://as.example/token, clientId: gw, clientAuthentication: { method: none } }',
        '',
      ].join('\n'),
    );
    const results = await build();
    const rows: string[] = [];
    for (const bundle of results) {
      const event = EVENTS[bundle.name as keyof typeof EVENTS];
      if (!event) throw new Error(`no event for ${bundle.name}`);
      const env = { GATEWAY_CONFIG: config };
      await coldStart(bundle.file, event, env); // warm the page cache; generates the key once
      const runs: Run[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await coldStart(bundle.file, event, env));
      const gzip = (await Promise.all(bundle.files.map((f) => readFile(f)))).reduce(
        (sum, code) => sum + gzipSync(code).length,
        0,
      );
      const total = runs.map((r) => r.importMs + r.invokeMs);
      const kb = (bytes: number) => `${(bytes / 1000).toFixed(0)} kB`;
      rows.push(
        [
          bundle.name,
          `${kb(bundle.bytes)} (${bundle.files.length} files)`,
          kb(bundle.initialBytes),
          kb(gzip),
          `${median(runs.map((r) => r.importMs)).toFixed(0)} ms`,
          `${median(runs.map((r) => r.invokeMs)).toFixed(1)} ms`,
          `**${median(total).toFixed(0)} ms** (${Math.min(...total).toFixed(0)}–${Math.max(...total).toFixed(0)})`,
          String(runs[0]!.statusCode),
          bundle.bytes < SIZE_GOAL_BYTES && median(total) < COLD_START_GOAL_MS ? 'yes' : 'no',
        ].join(' | '),
      );
      console.error(`${relative(ROOT, bundle.file)}: done`);
    }
    console.log(`Node ${process.version}, ${RUNS} cold starts per function (median, min–max)\n`);
    console.log(
      '| function | bundle | loaded at init | gzip | import (init) | first invocation | import + invocation | status | goals met |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const row of rows) console.log(`| ${row} |`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await run();
