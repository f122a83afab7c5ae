import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * A new contributor's first `npm run bench:bundles -- --help` must explain the benchmark, not start a run of
 * several minutes on a shared machine. Each benchmark is started as the README says, with --help.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));

function npmRun(script: string): Promise<{ code: number | string; stdout: string }> {
  return new Promise((resolve) => {
    // The kill is a backstop for a benchmark that ignores --help (it would run for minutes), not a timing.
    execFile(
      'npm',
      ['run', '--silent', script, '--', '--help'],
      { cwd: REPO, timeout: 60_000 },
      (error, out) => resolve({ code: error ? (error.code ?? String(error.signal)) : 0, stdout: out }),
    );
  });
}

describe('npm run bench* -- --help', () => {
  describe.each([
    ['bench', ['BENCH_SECONDS', 'BENCH_ROUNDS']],
    ['bench:proxy', ['BENCH_CONNECTIONS', 'BENCH_SECONDS', 'BENCH_ROUNDS']],
    ['bench:deadlines', []],
    ['bench:bundles', ['BENCH_RUNS', 'NODE_BINARY', 'BENCH_BASELINE']],
    [
      'bench:storm',
      ['BENCH_USERS', 'BENCH_ARRIVALS', 'BENCH_AS_RATE', 'BENCH_GATEWAY_RATE', 'BENCH_BASELINE'],
    ],
  ] as const)('%s', (script, variables) => {
    it('prints what it measures and the environment variables it reads, and measures nothing', async () => {
      // Act
      const { code, stdout } = await npmRun(script);

      // Assess
      expect(code).toBe(0);
      expect(stdout.startsWith(`npm run ${script}: `)).toBe(true);
      expect(stdout).toContain('Environment (the command line takes no options):');
      for (const name of variables) expect(stdout).toMatch(new RegExp(`^  ${name} +default: `, 'm'));
      expect(stdout).not.toMatch(/^round \d+\//m);
    }, 70_000);
  });
});
