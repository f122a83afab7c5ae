// npm run test:mutation: StrykerJS over the modules whose tests must catch bugs (issue 19), each mutated
// against only its own unit tests, so a score says what those tests prove and not what an integration
// test happens to touch. Incremental: a re-run tests only the mutants whose code or tests changed.
//
//   npm run test:mutation                          # every module below
//   npm run test:mutation -- token-response        # the modules whose file name contains a word
//   npm run test:mutation -- --force               # re-test every mutant (rebuilds the incremental files)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Below this a module fails the run (the goal issue 19 set). */
const BREAK_SCORE = 90;

/** Each module and the unit tests that must kill its mutants. */
const MUTATED_MODULES: ReadonlyArray<{ readonly module: string; readonly tests: readonly string[] }> = [
  { module: 'lib/oauth/token-response.ts', tests: ['test/unit/token-response.test.ts'] },
  { module: 'lib/oauth/client-authentication.ts', tests: ['test/unit/client-authentication.test.ts'] },
  { module: 'lib/config/linear-pattern.ts', tests: ['test/unit/linear-pattern.test.ts'] },
  {
    module: 'lib/proxy/upstream-path.ts',
    tests: ['test/unit/upstream-path.test.ts', 'test/unit/proxy-config.test.ts'],
  },
  {
    module: 'lib/policy/caller-policy.ts',
    tests: ['test/unit/caller-policy.test.ts', 'test/unit/caller-policy-decisions.test.ts'],
  },
];

/** The incremental file of a module: a mutation-testing-report-schema report, also read for the score. */
function incrementalFile(module: string): string {
  return join('reports', 'mutation', `${basename(module, '.ts')}.incremental.json`);
}

interface Report {
  files: Record<string, { mutants: Array<{ status: string }> }>;
}

/** Stryker's mutation score: detected (killed or timed out) over every valid mutant, as a percentage. */
function mutationScore(report: Report): { score: number; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  for (const file of Object.values(report.files)) {
    for (const { status } of file.mutants) counts[status] = (counts[status] ?? 0) + 1;
  }
  const detected = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
  const valid = detected + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
  return { score: valid === 0 ? 100 : (100 * detected) / valid, counts };
}

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { force: { type: 'boolean', default: false } },
  });
  const selected = MUTATED_MODULES.filter(
    ({ module }) => positionals.length === 0 || positionals.some((word) => module.includes(word)),
  );
  if (selected.length === 0) {
    console.error(`no module matches ${positionals.join(', ')}`);
    return 2;
  }
  const lines: string[] = [];
  let failed = false;
  for (const { module, tests } of selected) {
    const args = ['stryker', 'run', 'stryker.config.mjs', '--mutate', module];
    args.push('--incrementalFile', incrementalFile(module));
    if (values.force) args.push('--force');
    const run = spawnSync('npx', args, {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, MUTATION_TESTS: tests.join(',') },
    });
    if (run.status !== 0) {
      lines.push(`${module}: stryker failed (exit ${run.status ?? run.signal})`);
      failed = true;
      continue;
    }
    const report = JSON.parse(readFileSync(join(ROOT, incrementalFile(module)), 'utf8')) as Report;
    const { score, counts } = mutationScore(report);
    failed ||= score < BREAK_SCORE;
    lines.push(`${module}: ${score.toFixed(2)}% ${JSON.stringify(counts)}`);
  }
  console.log(`\nmutation scores (break below ${BREAK_SCORE}%):\n${lines.join('\n')}`);
  return failed ? 1 : 0;
}

process.exitCode = main();
