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
import { expandEnvPlaceholders } from '#lib/config/env-placeholders.ts';
import { ConfigError, parseConfig } from '#lib/config/load-config.ts';
import { thirdPartyNotices } from './third-party-notices.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');
/** The functions that load the gateway configuration (health needs none). */
export const CONFIGURED_FUNCTIONS: readonly string[] = ['token', 'jwks'];
/** The file name of the configuration inside a bundle; serverless.yml sets GATEWAY_CONFIG to it. */
export const BUNDLED_CONFIG = 'gateway.yaml';
/** Beside each bundle: the licences of the third-party packages in it (scripts/third-party-notices.ts). */
export const NOTICES_FILE = 'THIRD-PARTY-NOTICES.txt';

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
    plugins: [zodEnglishOnly],
    // CommonJS dependencies bundled into an ES module keep their require() of Node built-ins (yaml's
    // Node build requires 'process'); esbuild's shim can only serve them if `require` exists.
    banner: { js: REQUIRE_BANNER },
  });
  const inputs = Object.keys(result.metafile.inputs).sort();
  checkInputs(name, inputs);
  const outputs = Object.entries(result.metafile.outputs);
  return {
    name,
    file,
    files: outputs.map(([path]) => resolve(ROOT, path)),
    bytes: outputs.reduce((sum, [, output]) => sum + output.bytes, 0),
    initialBytes: staticClosureBytes(result.metafile, file),
    inputs,
    metafile: result.metafile,
  };
}

/** The bytes of an output and of every chunk it reaches through static imports. */
function staticClosureBytes(metafile: Metafile, entry: string): number {
  const outputs = new Map(
    Object.entries(metafile.outputs).map(([path, output]) => [resolve(ROOT, path), output]),
  );
  const seen = new Set<string>();
  const visit = (path: string): number => {
    const output = outputs.get(path);
    if (!output || seen.has(path)) return 0;
    seen.add(path);
    return (
      output.bytes +
      output.imports
        .filter((imported) => imported.kind === 'import-statement' && !imported.external)
        .reduce((sum, imported) => sum + visit(resolve(ROOT, imported.path)), 0)
    );
  };
  return visit(entry);
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
 * than the first cold start. `${env:NAME}` placeholders are filled only in Lambda (from the variables
 * serverless.yml sets), so here each stands for a dummy value and a field holding one is checked at cold
 * start only.
 */
export async function checkDeployConfig(path: string): Promise<void> {
  const document: unknown = parseYaml(await readFile(path, 'utf8'));
  const standIn = new Proxy({} as NodeJS.ProcessEnv, { get: (_, name) => `placeholder-${String(name)}` });
  const { document: expanded, expandedPaths } = expandEnvPlaceholders(document, standIn);
  try {
    parseConfig(expanded, relative(ROOT, path));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const real = error.issues.filter(
      (issue) => !expandedPaths.some((at) => issue.path === at || issue.path.startsWith(`${at}.`)),
    );
    if (real.length > 0) throw new ConfigError(relative(ROOT, path), real);
  }
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
  await checkDeployConfig(config);
  const files = await bundledFiles(config);
  await rm(DIST, { recursive: true, force: true });
  const results: BundleResult[] = [];
  for (const name of await functionNames()) {
    const result = await bundleFunction(name);
    await writeMetafile(name, result.metafile);
    await writeFile(join(DIST, name, NOTICES_FILE), (await thirdPartyNotices(result.inputs, ROOT)).text);
    if (CONFIGURED_FUNCTIONS.includes(name)) {
      await copyFile(config, join(DIST, name, BUNDLED_CONFIG));
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
