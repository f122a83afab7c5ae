// biome-ignore-all lint/suspicious/noTemplateCurlyInString: deploy configurations hold ${env:NAME} placeholders.
// The jwks function as deployed gets only the signing key variables (least privilege: no cache key, no
// table). Its bundle, loaded in a fresh Node process like a Lambda cold start, must still start from the
// shared deploy configuration, whose cache section names variables only the token function has.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfigFile } from '#lib/config/compile-config.ts';
import { httpApiEvent } from '#test/support/api-gateway-events.ts';
import { bundleFunction } from '../../scripts/build.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;
let bundle: string;

/** The deploy configuration's shape: signing key and cache from placeholders. */
const deployConfig = (keyPath: string) =>
  [
    'environment: production',
    'signingKeys:',
    `  blue: { type: local, path: ${keyPath}, generate: true, kid: "\${env:SIGNING_KEY_BLUE_ID}" }`,
    'targets:',
    '  t: { tokenEndpoint: https://as.example/token, clientId: c, clientAuthentication: { method: none } }',
    'cache:',
    '  dynamodb:',
    '    tableName: "${env:TOKEN_TABLE}"',
    '    encryption: { kmsKeyId: "${env:CACHE_KEY_ID}" }',
  ].join('\n');

function invoke(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  const event = httpApiEvent({ method: 'GET', path: '/.well-known/jwks.json' });
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'scripts', 'invoke-bundle.mjs'), bundle, JSON.stringify(event)],
      {
        cwd: dir,
        // As in Lambda: the region and the role's credentials are in the environment (never used here).
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'eu-central-1',
          AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'example',
          AWS_EC2_METADATA_DISABLED: 'true',
          ...env,
        },
        timeout: 30_000,
      },
      (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout }),
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jwks-env-'));
  bundle = (await bundleFunction('jwks', join(dir, 'jwks'))).file;
  await writeFile(join(dir, 'gateway.yaml'), deployConfig(join(dir, 'key.json')));
  // Compiled as `npm run build` ships it (dist/jwks/gateway.json).
  const compiled = await compileConfigFile(join(dir, 'gateway.yaml'));
  await writeFile(join(dir, 'gateway.json'), JSON.stringify(compiled));
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('jwks bundle', () => {
  it('starts with only the signing key variables, as serverless.yml gives it', async () => {
    // Act
    const { code, stdout } = await invoke({
      GATEWAY_CONFIG: join(dir, 'gateway.json'),
      SIGNING_KEY_BLUE_ID: 'blue-kid',
    });

    // Assess
    expect(code).toBe(0);
    const result = JSON.parse(
      stdout
        .split('\n')
        .find((l) => l.startsWith('@@result '))!
        .slice(9),
    );
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).keys[0].kid).toBe('blue-kid');
  });

  it('still fails its cold start when a signing key variable is missing', async () => {
    // Act
    const { code, stdout } = await invoke({ GATEWAY_CONFIG: join(dir, 'gateway.json') });

    // Assess
    expect(code).toBe(1);
    expect(stdout).toContain('@@error import: ConfigError');
  });
});
