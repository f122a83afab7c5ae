import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisites } from '#test/support/prerequisites.ts';

/**
 * Issue 17, item 20: `npm test` needs openssl, Authlib for /usr/bin/python3 and GnuCOBOL. Without one, the run ends
 * at once with one line saying what to install; no test is skipped or run.
 */
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const VITEST = join(REPO, 'node_modules', 'vitest', 'vitest.mjs');

let bin: string;

beforeAll(async () => {
  // A PATH with node and nothing else: no openssl (nor cobc) on it.
  bin = await mkdtemp(join(tmpdir(), 'prerequisites-'));
  await symlink(process.execPath, join(bin, 'node'));
});

afterAll(async () => {
  if (bin) await rm(bin, { recursive: true, force: true });
});

describe('test prerequisites', () => {
  it('ends the run in one line naming openssl and cobc when they are not on PATH, before any test runs', async () => {
    // Act: the suite's own vitest, on one quick test file.
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [VITEST, 'run', 'test/unit/once.test.ts'],
        { cwd: REPO, env: { ...process.env, PATH: bin, NO_COLOR: '1' }, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, output: `${stdout}${stderr}` }),
      );
    });

    // Assess
    expect(code).toBe(1);
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    expect(lines.at(-1)).toBe(
      'npm test needs openssl and GnuCOBOL (cobc): apt-get install openssl gnucobol (Debian/Ubuntu; see README)',
    );
    expect(output).not.toMatch(/Test Files|passed|skipped/);
  }, 70_000);

  it('names every missing prerequisite and its Debian package in one line', () => {
    // Act
    const missing = missingPrerequisites({ python: join(bin, 'no-python3'), env: { PATH: bin } });

    // Assess
    expect(missing).toBe(
      'npm test needs openssl, Authlib for /usr/bin/python3 and GnuCOBOL (cobc): apt-get install openssl python3-authlib gnucobol (Debian/Ubuntu; see README)',
    );
  });

  it('finds nothing missing on this machine, which runs the suite', () => {
    // Act + Assess
    expect(missingPrerequisites()).toBeUndefined();
  });
});
