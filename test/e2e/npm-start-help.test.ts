import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
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
      'DEMO_AS_PORT',
      'DEMO_API_PORT',
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

  it('refuses a DEMO_AS_PORT that is no port, in one line, before starting anything', async () => {
    // Act: its own process group, so that the whole of it can be stopped should it start after all.
    const child = spawn('npm', ['start', '--silent'], {
      cwd: REPO,
      env: { ...process.env, PORT: '0', DEMO_AS_PORT: 'eighty' },
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const started = setTimeout(() => process.kill(-child.pid!, 'SIGTERM'), 15_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(started);

    // Assess
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe('invalid DEMO_AS_PORT: eighty (a port number, 0-65535)');
  }, 20_000);
});
