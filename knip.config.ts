// knip (part of `npm run lint`): an export no other file imports, a file nothing reaches, and a
// dependency nothing uses (or one used but not declared) fail lint. knip parses with oxc and resolves
// with oxc-resolver: it does not load the TypeScript JavaScript API, which TypeScript 7 no longer has.
//
// Entries are the files something outside the import graph starts: Lambda handlers (serverless.yml names
// their bundles, dist/*), benchmarks (and the processes they spawn), tests and their vitest configs, and
// the CommonJS files serverless.yml reads with ${file(...)}. knip's own plugins already take the files
// package.json's scripts run (cli/main.ts, lib/local/main.ts, scripts/build.ts, scripts/mutation.ts,
// lib/config/write-json-schema.ts, lib/http/write-openapi.ts) and vitest.config.ts with its globalSetup,
// so listing them again is refused as redundant (knip's configuration hints).
// The adapters lib/lazy-adapter.ts loads are reached through literal dynamic `import()`s, which knip
// follows, so they need no entry. An entry's own exports are not checked (knip's default): only what
// another file could import is.
import type { KnipConfig } from 'knip';

const config: KnipConfig = {
  entry: [
    'functions/*.ts',
    'bin/*.mjs',
    // Spawned by test/infra and bench/bundles.ts.
    'scripts/invoke-bundle.mjs',
    // npm run bench*, and the processes the benchmarks spawn (bare-server.ts, storm-driver.ts).
    'bench/{cache-hit,proxy,bundles,deadlines,storm,storm-driver,bare-server}.ts',
    'test/**/*.test.ts',
    // The mutation runs' vitest config (stryker.config.mjs names it).
    'test/mutation/vitest.config.ts',
    // serverless.yml: ${file(infra/<name>.cjs)}.
    'infra/*.cjs',
  ],
  project: ['**/*.{ts,mjs,cjs}', '!dist/**', '!.serverless/**', '!.state/**', '!.stryker-tmp/**'],
  // Type-only imports of packages that arrive with a dependency and are not installed on their own:
  // StrykerJS's option types (with @stryker-mutator/core) and the CloudFormation validator aws-cdk-lib
  // ships (test/support/cloudformation.ts resolves it from aws-cdk-lib on purpose).
  ignoreDependencies: ['@stryker-mutator/api', '@aws/cloudformation-validate'],
  // A system tool the tests run (the README lists it as a prerequisite), not an npm package.
  ignoreBinaries: ['openssl'],
  // A stale entry or ignore (a file moved, a dependency now declared) fails too, so this file stays true.
  treatConfigHintsAsErrors: true,
};

export default config;
