import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.ts';

// One mutation run per module, each against only that module's own unit tests (scripts/mutation.ts sets
// MUTATION_TESTS). Stryker's `testFiles` option cannot scope this: under vitest 4.1 it misses mutants in
// module-level constants (stryker-js#6144), which then count as not covered.
const files = (process.env.MUTATION_TESTS ?? '').split(',').filter((file) => file.length > 0);
if (files.length === 0) throw new Error('MUTATION_TESTS names no test file: run npm run test:mutation');

// Not mergeConfig: it would append these files to the base's include rather than replace it.
export default defineConfig({ ...base, test: { ...base.test, include: files } });
