// npm run bench:bundles: the size of each Lambda bundle and its cold start, i.e. a fresh Node process
// importing the bundle (module init, the configuration load included) and answering its first invocation
// with an API Gateway v2 event. Results: docs/PERFORMANCE.md.
//
//   NODE_BINARY=/path/to/node24,/path/to/node20   the Node binaries to measure with (default: this one)
//   BENCH_BASELINE=main                          also build that git ref's bundles and measure them in
//                                                the same run, interleaved, for a before/after table
//   BENCH_RUNS=15                                cold starts per function, scenario, variant and Node
//
// Two scenarios. `local`: a local signing key and no AWS at all (the token request is refused, 401, for
// lack of a caller credential, before anything leaves the process). `kms`: the deployed shape, a KMS
// signing key, the DynamoDB cache with a KMS cache key and an API key hash in Secrets Manager, against the
// AWS emulator on loopback (test/support/aws-emulator.ts): jwks really calls KMS GetPublicKey, token loads
// what that configuration uses but is still refused before any call. Median of the runs, after one
// discarded run per bundle that warms the file system cache; the variants run interleaved so that the
// machine's load weighs on them alike.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { compileConfig } from '#lib/config/compile-config.ts';
import { httpApiEvent } from '#test/support/api-gateway-events.ts';
import { startAwsEmulator } from '#test/support/aws-emulator.ts';
import { type BundleResult, build, ROOT } from '../scripts/build.ts';
import { exitWithUsageIfAsked } from './usage.ts';

exitWithUsageIfAsked(import.meta.url);

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const NODES = (process.env.NODE_BINARY ?? process.execPath).split(',').filter(Boolean);
const BASELINE = process.env.BENCH_BASELINE;
const GOALS = { health: 10, jwks: 80, token: 80 } as const;

const EVENTS = {
  health: httpApiEvent({ method: 'GET', path: '/health' }),
  jwks: httpApiEvent({ method: 'GET', path: '/.well-known/jwks.json' }),
  token: httpApiEvent({ method: 'POST', path: '/v1/token', body: { target: 'demo', subject: 'CICSUSR1' } }),
} as const;
type FunctionName = keyof typeof EVENTS;

interface Variant {
  readonly label: 'before' | 'after';
  /** dist/<fn>/index.mjs per function. */
  readonly files: Record<string, string>;
  readonly sizes: Record<
    string,
    { readonly bytes: number; readonly initialBytes?: number; readonly gzip: number }
  >;
  /** Whether its functions read the compiled configuration (lib/config/compiled-config.ts). */
  readonly compiled: boolean;
}

interface Case {
  readonly fn: FunctionName;
  readonly scenario: 'local' | 'kms';
}

const CASES: readonly Case[] = [
  { fn: 'health', scenario: 'local' },
  { fn: 'jwks', scenario: 'local' },
  { fn: 'token', scenario: 'local' },
  { fn: 'jwks', scenario: 'kms' },
  { fn: 'token', scenario: 'kms' },
];

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function coldStart(node: string, file: string, event: unknown, env: NodeJS.ProcessEnv) {
  const { stdout } = await run(
    node,
    [join(ROOT, 'scripts', 'invoke-bundle.mjs'), file, JSON.stringify(event)],
    {
      env: { PATH: process.env.PATH, AWS_REGION: 'eu-central-1', AWS_EC2_METADATA_DISABLED: 'true', ...env },
    },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('@@result '));
  if (!line) throw new Error(`${file}: no result\n${stdout}`);
  const result = JSON.parse(line.slice('@@result '.length)) as {
    importMs: number;
    invokeMs: number;
    statusCode: number;
  };
  return { ms: result.importMs + result.invokeMs, statusCode: result.statusCode };
}

async function sizesOf(result: BundleResult) {
  const gzip = (await Promise.all(result.files.map((f) => readFile(f)))).reduce(
    (sum, code) => sum + gzipSync(code).length,
    0,
  );
  return { bytes: result.bytes, initialBytes: result.initialBytes, gzip };
}

/** The baseline's bundles, built by its own build script from a copy of that git ref. */
async function buildBaseline(ref: string, dir: string): Promise<Variant> {
  const tree = join(dir, 'baseline');
  await run('bash', ['-c', `mkdir -p "${tree}" && git -C "${ROOT}" archive "${ref}" | tar -x -C "${tree}"`]);
  await symlink(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  await run(process.execPath, [join(ROOT, 'node_modules', '.bin', 'tsx'), 'scripts/build.ts'], { cwd: tree });
  const files: Record<string, string> = {};
  const sizes: Variant['sizes'] = {};
  for (const fn of Object.keys(EVENTS)) {
    files[fn] = join(tree, 'dist', fn, 'index.mjs');
    const meta = JSON.parse(await readFile(join(tree, 'dist', 'meta', `${fn}.json`), 'utf8')) as {
      outputs: Record<string, { bytes: number; imports: Array<{ path: string; kind: string }> }>;
    };
    const outputs = Object.entries(meta.outputs);
    const code = await Promise.all(outputs.map(([path]) => readFile(join(tree, path))));
    const initial = new Set<string>();
    const visit = (path: string) => {
      if (initial.has(path) || !meta.outputs[path]) return;
      initial.add(path);
      for (const i of meta.outputs[path]!.imports) if (i.kind === 'import-statement') visit(i.path);
    };
    visit(outputs.find(([path]) => path.endsWith(`${fn}/index.mjs`))![0]);
    sizes[fn] = {
      bytes: outputs.reduce((sum, [, o]) => sum + o.bytes, 0),
      initialBytes: [...initial].reduce((sum, path) => sum + meta.outputs[path]!.bytes, 0),
      gzip: code.reduce((sum, c) => sum + gzipSync(c).length, 0),
    };
  }
  const compiled = (await readFile(join(tree, 'scripts', 'build.ts'), 'utf8')).includes('compileConfig');
  return { label: 'before', files, sizes, compiled };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-bundles-'));
  const emulator = await startAwsEmulator({ region: 'eu-central-1' });
  try {
    const { arn: signingKey } = await emulator.createKey('ECC_NIST_P256');
    const { arn: cacheKey } = await emulator.createKey('SYMMETRIC_DEFAULT');
    emulator.putSecret('jwt-bearer-gateway/callers/cics', '0'.repeat(64));
    const target = {
      tokenEndpoint: 'https://as.example/token',
      clientId: 'gw',
      clientAuthentication: { method: 'none' },
    };
    const documents = {
      local: {
        environment: 'production',
        signingKeys: { primary: { type: 'local', path: join(dir, 'key.json'), generate: true } },
        targets: { demo: target },
      },
      kms: {
        environment: 'production',
        signingKeys: { primary: { type: 'kms', keyId: signingKey } },
        targets: { demo: target },
        callers: {
          cics: {
            apiKeys: [{ secretsManager: { secretId: 'jwt-bearer-gateway/callers/cics' } }],
            targets: { demo: {} },
          },
        },
        cache: { dynamodb: { tableName: 'jwt-bearer-gateway-tokens', encryption: { kmsKeyId: cacheKey } } },
      },
    };
    // The configuration as written (what a build before the compiled configuration bundled) and compiled.
    const configs: Record<string, { written: string; compiled: string }> = {};
    for (const [scenario, document] of Object.entries(documents)) {
      const written = join(dir, `${scenario}.yaml`);
      const compiled = join(dir, `${scenario}.json`);
      await writeFile(written, JSON.stringify(document));
      await writeFile(compiled, JSON.stringify(compileConfig(document, basename(written))));
      configs[scenario] = { written, compiled };
    }
    const awsEnv = {
      AWS_ENDPOINT_URL: emulator.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };

    const variants: Variant[] = [];
    if (BASELINE) variants.push(await buildBaseline(BASELINE, dir));
    const current = await build();
    const after: Variant = { label: 'after', files: {}, sizes: {}, compiled: true };
    for (const result of current) {
      after.files[result.name] = result.file;
      after.sizes[result.name] = await sizesOf(result);
    }
    variants.push(after);

    const env = (variant: Variant, { scenario }: Case) => ({
      GATEWAY_CONFIG: variant.compiled ? configs[scenario]!.compiled : configs[scenario]!.written,
      ...(scenario === 'kms' ? awsEnv : {}),
    });
    const key = (node: string, variant: Variant, c: Case) => `${node}|${variant.label}|${c.fn}|${c.scenario}`;
    const samples = new Map<string, number[]>();
    const statuses = new Map<string, number>();
    for (const node of NODES) {
      for (const variant of variants) {
        for (const c of CASES) await coldStart(node, variant.files[c.fn]!, EVENTS[c.fn], env(variant, c));
      }
    }
    for (let i = 0; i < RUNS; i++) {
      for (const node of NODES) {
        for (const variant of variants) {
          for (const c of CASES) {
            const { ms, statusCode } = await coldStart(
              node,
              variant.files[c.fn]!,
              EVENTS[c.fn],
              env(variant, c),
            );
            const k = key(node, variant, c);
            samples.set(k, [...(samples.get(k) ?? []), ms]);
            statuses.set(k, statusCode);
          }
        }
      }
      console.error(`round ${i + 1}/${RUNS}`);
    }

    const versions = await Promise.all(
      NODES.map(async (node) => (await run(node, ['--version'])).stdout.trim()),
    );
    const kb = (bytes: number | undefined) => (bytes === undefined ? '?' : `${(bytes / 1000).toFixed(0)} kB`);
    console.log(`${RUNS} cold starts per cell, median (min–max), ms; Node ${versions.join(', ')}\n`);
    const header = ['function', 'scenario', 'variant', 'bundle', 'loaded at init', 'gzip'];
    for (const version of versions) header.push(`Node ${version}`);
    header.push('status');
    console.log(`| ${header.join(' | ')} |`);
    console.log(`|${header.map(() => '---').join('|')}|`);
    for (const c of CASES) {
      for (const variant of variants) {
        const size = variant.sizes[c.fn]!;
        const cells = [c.fn, c.scenario, variant.label, kb(size.bytes), kb(size.initialBytes), kb(size.gzip)];
        for (const node of NODES) {
          const values = samples.get(key(node, variant, c))!;
          const m = median(values);
          const goal = variant.label === 'after' && m <= GOALS[c.fn] ? ' ✓' : '';
          cells.push(
            `**${m.toFixed(0)}**${goal} (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)})`,
          );
        }
        cells.push(String(statuses.get(key(NODES[0]!, variant, c))));
        console.log(`| ${cells.join(' | ')} |`);
      }
    }
    if (variants.length === 2) {
      console.log('\nafter / before, medians:');
      for (const c of CASES) {
        const ratios = NODES.map((node) => {
          const [b, a] = variants.map((v) => median(samples.get(key(node, v, c))!));
          return (a! / b!).toFixed(2);
        });
        console.log(`  ${c.fn} ${c.scenario}: ${ratios.join(' / ')}`);
      }
    }
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
