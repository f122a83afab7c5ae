import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

describe('npm start -- --help', () => {
  it('tells a new operator what it writes and which AWS settings it honours', async () => {
    // Act
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile('npm', ['start', '--silent', '--', '--help'], { cwd: REPO }, (error, out) =>
        resolve({ code: error ? Number(error.code) : 0, stdout: out }),
      );
    });

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('.state/signing-key.json');
    for (const name of [
      'AWS_REGION',
      'AWS_PROFILE',
      'AWS_ACCESS_KEY_ID',
      'AWS_ENDPOINT_URL',
      'AWS_ENDPOINT_URL_KMS',
      'AWS_ENDPOINT_URL_SECRETS_MANAGER',
      'AWS_ENDPOINT_URL_DYNAMODB',
    ]) {
      expect(stdout).toContain(name);
    }
  });
});
