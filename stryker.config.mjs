// Shared StrykerJS options; scripts/mutation.ts (npm run test:mutation) runs one module at a time with
// its own unit tests and incremental file. See docs/ARCHITECTURE.md, "Mutation testing".
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'test/mutation/vitest.config.ts', related: false },
  // TypeScript 7 is native (no JavaScript API), so the typescript checker and Stryker's tsconfig
  // rewriting cannot load it: no checker, and tsconfigFile names a file that does not exist. A mutant
  // that does not type-check still runs; vitest strips types, so it is killed or survives on behaviour.
  checkers: [],
  tsconfigFile: 'stryker-has-no-tsconfig.json',
  coverageAnalysis: 'perTest',
  // The machine running this is usually shared (CI, laptops): two workers at most.
  concurrency: 2,
  incremental: true,
  // The incremental file of each module is the full report (mutation-testing-report-schema).
  reporters: ['clear-text', 'progress'],
  ignorePatterns: ['.state', 'dist', '.serverless', 'coverage', 'reports'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  timeoutMS: 10_000,
};
