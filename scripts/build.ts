// npm run build: one self-contained ES module per Lambda function, dist/<fn>/index.mjs, with everything
// it imports bundled in (the AWS SDK v3 at the version package-lock.json pins, not the runtime's copy),
// tree-shaken and minified, plus the deploy configuration for the functions that read one. serverless.yml
// packages each dist/<fn>/ as that function's zip. See docs/DEPLOY.md and docs/PERFORMANCE.md.
//
//   npm run build                          # config/gateway.yaml
//   npm run build -- --config my.yaml      # or GATEWAY_CONFIG_SOURCE=my.yaml
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build as esbuild, type Metafile, type Plugin } from 'esbuild';
import { parse as parseYaml } from 'yaml';
import { compileConfigFile } from '#lib/config/compile-config.ts';
import type { CompiledConfig } from '#lib/config/compiled-config.ts';
import { ConfigError } from '#lib/config/load-config.ts';
import { secretAccessIssues } from './secret-access.ts';
import { thirdPartyNotices } from './third-party-notices.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');
/** The functions that load the gateway configuration (health needs none). */
export const CONFIGURED_FUNCTIONS: readonly string[] = ['token', 'jwks'];
/** The file name of the compiled configuration inside a bundle; serverless.yml sets GATEWAY_CONFIG to it. */
export const BUNDLED_CONFIG = 'gateway.json';
/** Beside each bundle: the licences of the third-party packages in it (scripts/third-party-notices.ts). */
export const NOTICES_FILE = 'THIRD-PARTY-NOTICES.txt';

/**
 * What each function may load at init (index.mjs and the chunks it imports statically), in bytes: the
 * cold start grows with it (docs/PERFORMANCE.md). The build fails past it; raise a budget only with a
 * measurement that says the cold start still meets its goal.
 */
export const INIT_BYTES_BUDGET: Readonly<Record<string, number>> = {
  token: 400_000,
  jwks: 400_000,
  health: 10_000,
};

/**
 * What must never be reachable from a function: the laptop runtime (lib/local/: demo authorization
 * server, embedded defaults, the HTTP adapter), its oidc-provider, tests, benchmarks, scripts.
 */
export const FORBIDDEN_INPUTS: readonly RegExp[] = [
  /^lib\/local\//,
  /(^|\/)node_modules\/oidc-provider\//,
  /^test\//,
  /^bench\//,
  /^scripts\//,
  /\.test\.ts$/,
  /(^|\/)node_modules\/(vitest|@vitest|fast-check|dynalite|autocannon|osls)\//,
];

/** Gives the ES module bundle a `require` for the CommonJS dependencies in it. */
const REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

export interface BundleResult {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  /** Every file written: index.mjs and the chunks it may load. */
  readonly files: readonly string[];
  /** index.mjs and the chunks it imports statically: what a cold start loads (the rest loads on demand). */
  readonly initialBytes: number;
  /** The source files and packages in those: what the init phase evaluates. */
  readonly initialInputs: readonly string[];
  /** The source files and packages that ended up in the bundle (esbuild's metafile inputs). */
  readonly inputs: readonly string[];
  readonly metafile: Metafile;
}

/**
 * zod's `z` namespace re-exports every locale (`z.locales`), about 260 KB minified that tree shaking
 * cannot drop because the namespace object is used whole. The gateway never calls `z.config(locale)`:
 * only the English default (imported directly by zod's schemas) is used. Bundle a locales index that has
 * only `en`; the bundle tests check that error messages still come out.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * On Node 22 and later an ES module `import` of `node:http` builds its ES module facade, which reads
 * every export, including the lazy getters (WebSocket and friends) that load undici: about 30 ms of a cold
 * start on Node 24, for an HTTP client that never uses them. The AWS SDK's HTTP handler imports
 * `node:http` and `node:https`; served through `require` (the CommonJS module, no facade), they load in a
 * few milliseconds. docs/PERFORMANCE.md has the measurement.
 */
const nodeHttpThroughRequire: Plugin = {
  name: 'node-http-through-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?https?$/ }, (args) =>
      args.namespace === 'node-http-through-require'
        ? undefined
        : { path: args.path.replace(/^node:/, ''), namespace: 'node-http-through-require' },
    );
    build.onLoad({ filter: /.*/, namespace: 'node-http-through-require' }, (args) => ({
      contents: `module.exports = require('node:${args.path}');`,
      loader: 'js',
    }));
  },
};

/** The entry points: every functions/*.ts. */
export async function functionNames(): Promise<string[]> {
  return (await readdir(join(ROOT, 'functions')))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => basename(file, '.ts'))
    .sort();
}

export async function bundleFunction(name: string, outdir = join(DIST, name)): Promise<BundleResult> {
  const file = join(outdir, 'index.mjs');
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'functions', `${name}.ts`)],
    outdir,
    entryNames: 'index',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    // Dynamic imports become chunks loaded only when reached: the AWS SDK imports its SSO, STS, INI and
    // other credential providers that way, and in Lambda the first one (environment variables) answers.
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // Lambda runs nodejs24.x; node20 keeps the bundles loadable by the local Node used in CI (≥ 20.19).
    target: 'node20',
    minify: true,
    treeShaking: true,
    // Prefer the packages' ES module builds (the AWS SDK ships dist-es): they tree-shake far better.
    mainFields: ['module', 'main'],
    // Licence texts are not in comments for most packages: build() writes THIRD-PARTY-NOTICES.txt instead.
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [zodEnglishOnly, nodeHttpThroughRequire],
    // CommonJS dependencies bundled into an ES module keep their require() of Node built-ins (yaml's
    // Node build requires 'process'); esbuild's shim can only serve them if `require` exists.
    banner: { js: REQUIRE_BANNER },
  });
  const inputs = Object.keys(result.metafile.inputs).sort();
  checkInputs(name, inputs);
  const outputs = Object.entries(result.metafile.outputs);
  const initial = staticClosure(result.metafile, file);
  const initialBytes = initial.reduce((sum, output) => sum + output.bytes, 0);
  checkBudget(name, initialBytes);
  return {
    name,
    file,
    files: outputs.map(([path]) => resolve(ROOT, path)),
    bytes: outputs.reduce((sum, [, output]) => sum + output.bytes, 0),
    initialBytes,
    initialInputs: [...new Set(initial.flatMap((output) => Object.keys(output.inputs)))].sort(),
    inputs,
    metafile: result.metafile,
  };
}

/** Fails the build when what a function loads at init outgrows its budget (a new function needs one). */
export function checkBudget(name: string, initialBytes: number): void {
  const budget = INIT_BYTES_BUDGET[name];
  if (budget === undefined)
    throw new Error(`${name}: no init size budget in INIT_BYTES_BUDGET (scripts/build.ts)`);
  if (initialBytes > budget) {
    throw new Error(
      `${name}: ${initialBytes} bytes loaded at init, over its budget of ${budget} (INIT_BYTES_BUDGET in scripts/build.ts; see docs/PERFORMANCE.md)`,
    );
  }
}

/** An output and every chunk it reaches through static imports. */
function staticClosure(metafile: Metafile, entry: string): Array<Metafile['outputs'][string]> {
  const outputs = new Map(
    Object.entries(metafile.outputs).map(([path, output]) => [resolve(ROOT, path), output]),
  );
  const seen = new Map<string, Metafile['outputs'][string]>();
  const visit = (path: string): void => {
    const output = outputs.get(path);
    if (!output || seen.has(path)) return;
    seen.set(path, output);
    for (const imported of output.imports) {
      if (imported.kind === 'import-statement' && !imported.external) visit(resolve(ROOT, imported.path));
    }
  };
  visit(entry);
  return [...seen.values()];
}

function checkInputs(name: string, inputs: readonly string[]): void {
  const forbidden = inputs.filter((input) => FORBIDDEN_INPUTS.some((pattern) => pattern.test(input)));
  if (forbidden.length > 0) {
    throw new Error(
      `${name}: test or local-only code is reachable from functions/${name}.ts:\n  ${forbidden.join('\n  ')}`,
    );
  }
}

/** dist/meta/<fn>.json, beside dist/<fn>/ rather than in it: for analysis (esbuild.github.io/analyze). */
async function writeMetafile(name: string, metafile: Metafile): Promise<void> {
  const dir = join(DIST, 'meta');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name}.json`), JSON.stringify(metafile));
}

/**
 * Checks the deploy configuration before it is bundled, so `npm run package` fails on a typo rather
 * than the first cold start (the operator CLI's check-config runs the same): see compileConfigFile.
 */
export async function checkDeployConfig(path: string): Promise<CompiledConfig> {
  const source = relative(ROOT, path);
  const compiled = await compileConfigFile(path, source);
  // Valid, but in Lambda an AccessDenied on every request that needs the secret: refused here instead.
  const issues = secretAccessIssues(compiled.config);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return compiled;
}

/**
 * The files the configuration names that the functions read at run time: each signing key's
 * `certificateFile`, relative to the configuration file (so it lands beside it in dist/<fn>/). A path
 * that is absolute or leaves the configuration's directory cannot be bundled: refused, with the field.
 */
export async function bundledFiles(configPath: string): Promise<string[]> {
  const document = parseYaml(await readFile(configPath, 'utf8')) as {
    signingKeys?: Record<string, { certificateFile?: unknown } | null>;
  } | null;
  const files: string[] = [];
  const issues: { path: string; message: string }[] = [];
  for (const [id, key] of Object.entries(document?.signingKeys ?? {})) {
    const file = key?.certificateFile;
    if (typeof file !== 'string') continue;
    if (isAbsolute(file) || normalize(file).startsWith('..')) {
      const message = "must be a path inside the configuration file's directory, so the build can bundle it";
      issues.push({ path: `signingKeys.${id}.certificateFile`, message });
    } else files.push(normalize(file));
  }
  if (issues.length > 0) throw new ConfigError(relative(ROOT, configPath), issues);
  return files;
}

export interface BuildOptions {
  /** The deploy configuration copied into the configured functions (default config/gateway.yaml). */
  readonly config?: string;
}

export async function build(options: BuildOptions = {}): Promise<BundleResult[]> {
  const config = resolve(ROOT, options.config ?? process.env.GATEWAY_CONFIG_SOURCE ?? 'config/gateway.yaml');
  // Validated here, so `npm run package` fails on a typo rather than the first cold start; what ships is
  // the validated JSON, which the functions read without a YAML parser or zod (lib/config/compiled-config.ts).
  const compiled = JSON.stringify(await checkDeployConfig(config));
  const files = await bundledFiles(config);
  await rm(DIST, { recursive: true, force: true });
  const results: BundleResult[] = [];
  for (const name of await functionNames()) {
    const result = await bundleFunction(name);
    await writeMetafile(name, result.metafile);
    await writeFile(join(DIST, name, NOTICES_FILE), (await thirdPartyNotices(result.inputs, ROOT)).text);
    if (CONFIGURED_FUNCTIONS.includes(name)) {
      await writeFile(join(DIST, name, BUNDLED_CONFIG), compiled);
      for (const file of files) {
        await mkdir(dirname(join(DIST, name, file)), { recursive: true });
        await copyFile(join(dirname(config), file), join(DIST, name, file));
      }
    }
    results.push(result);
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  const results = await build({ config: values.config });
  for (const { file, files, bytes, initialBytes } of results) {
    const kb = (n: number) => `${(n / 1000).toFixed(0).padStart(4)} kB`;
    const what = `${kb(bytes)} in ${files.length} files, ${kb(initialBytes)} loaded at init`;
    console.log(`${relative(ROOT, file).padEnd(22)} ${what}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
