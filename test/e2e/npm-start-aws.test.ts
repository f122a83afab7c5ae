import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm start -- --config FILE` with a configuration that needs AWS (a KMS key, a secret in Secrets
 * Manager) on a machine without an AWS region or credentials: it must refuse to start with one line
 * saying what is missing, instead of listening and answering 503 to every request (issue 10.5).
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));

let dir: string;
let configPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'npm-start-aws-'));
  configPath = join(dir, 'gateway.yaml');
  await writeFile(
    configPath,
    [
      'signingKeys:',
      '  primary: { type: kms, keyId: alias/jwt-bearer-gateway }',
      'targets:',
      '  okta:',
      '    tokenEndpoint: https://as.example.com/oauth2/v1/token',
      '    clientId: gw',
      '    clientAuthentication:',
      '      method: client_secret_basic',
      '      secret: { secretsManager: { secretId: jwt-bearer-gateway/okta } }',
      'callers:',
      '  cics:',
      '    apiKeys: [{ sha256: "0000000000000000000000000000000000000000000000000000000000000000" }]',
      '    targets: { okta: {} }',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `npm start` with no AWS settings at all, plus `extra`; resolves when it exits. */
async function start(
  extra: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string[]; stderr: string[] }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('AWS_')) env[name] = value;
  Object.assign(env, {
    PORT: '0',
    // Nothing on this machine to find: no credential or config file, no instance role.
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  });
  const child = spawn('npm', ['start', '--', '--config', configPath], { cwd: REPO, env, detached: true });
  // A gateway that starts anyway (the bug) would listen forever: end its whole process group.
  const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 20_000);
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(...chunk.toString().split('\n')));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(...chunk.toString().split('\n')));
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe('npm start', () => {
  describe('a configuration that needs AWS', () => {
    it('refuses to start without an AWS region, in one line naming it', async () => {
      // Act
      const run = await start({});

      // Assess
      expect(run.code).not.toBe(0);
      expect(run.stdout.join('\n')).not.toContain('listening');
      // The SDK's own NodeVersionSupportWarning (Node < 22) and npm's exit report may come around it.
      const ours = run.stderr.filter((line) => line.startsWith('no AWS'));
      expect(run.stderr.filter((line) => /^\s+at /.test(line))).toEqual([]);
      expect(ours).toEqual(["no AWS region for KMS: set AWS_REGION (or a profile's region)"]);
    }, 30_000);

    it('refuses to start without AWS credentials, in one line naming them', async () => {
      // Act
      const run = await start({ AWS_REGION: 'eu-west-1' });

      // Assess
      expect(run.code).not.toBe(0);
      expect(run.stdout.join('\n')).not.toContain('listening');
      const ours = run.stderr.filter((line) => line.startsWith('no AWS'));
      expect(run.stderr.filter((line) => /^\s+at /.test(line))).toEqual([]);
      expect(ours).toEqual(['no AWS credentials for KMS: Could not load credentials from any providers']);
    }, 30_000);
  });
});
