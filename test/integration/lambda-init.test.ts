import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { API_ERRORS, toApiError } from '#lib/http/api-errors.ts';

/**
 * The Lambda entry points await `gatewayFromEnvironment()` during init: a configuration that needs AWS
 * must fail the cold start when the function has no region or credentials (issue 10.5), and one that
 * needs none must not care.
 */
const SAVED_ENV = { ...process.env };
let dir: string;

const CONFIG = (signingKey: string) =>
  [
    'environment: development',
    'signingKeys:',
    `  primary: ${signingKey}`,
    'targets:',
    '  demo: { tokenEndpoint: "https://as.example.com/token", clientId: gw, clientAuthentication: { method: none } }',
    'callers: {}',
    '',
  ].join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lambda-init-'));
  await writeFile(join(dir, 'kms.yaml'), CONFIG('{ type: kms, keyId: alias/jwt-bearer-gateway }'));
  await writeFile(
    join(dir, 'local.yaml'),
    CONFIG(`{ type: local, path: ${join(dir, 'key.json')}, generate: true }`),
  );
});

afterEach(() => {
  process.env = { ...SAVED_ENV };
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The SDK's default chain with nothing to find, plus `extra`. */
function awsEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
  Object.assign(process.env, {
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  });
  return process.env;
}

describe('gatewayFromEnvironment', () => {
  describe('AWS region and credentials', () => {
    it('fails init with ERR_AWS_UNCONFIGURED when a KMS key is configured and no region is set', async () => {
      // Prepare
      const env = awsEnvironment({ GATEWAY_CONFIG: join(dir, 'kms.yaml') });

      // Act
      const error = await gatewayFromEnvironment(env)().catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({
        code: 'ERR_AWS_UNCONFIGURED',
        message: expect.stringContaining('region'),
      });
      expect(toApiError(error).code).toBe('gateway_misconfigured');
      expect(API_ERRORS.gateway_misconfigured.retryable).toBe(false);
    });

    it('fails init with ERR_AWS_UNCONFIGURED when no credentials can be found', async () => {
      // Prepare
      const env = awsEnvironment({ GATEWAY_CONFIG: join(dir, 'kms.yaml'), AWS_REGION: 'eu-west-1' });

      // Act
      const error = await gatewayFromEnvironment(env)().catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({
        code: 'ERR_AWS_UNCONFIGURED',
        message: 'no AWS credentials for KMS: Could not load credentials from any providers',
      });
    });

    it('starts with credentials from the environment, as Lambda provides them', async () => {
      // Prepare
      const env = awsEnvironment({
        GATEWAY_CONFIG: join(dir, 'kms.yaml'),
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'example-secret',
      });

      // Act
      const gateway = await gatewayFromEnvironment(env)();

      // Assess
      expect(Object.keys(gateway.config.signingKeys)).toEqual(['primary']);
    });

    it('needs neither region nor credentials when nothing in the configuration is in AWS', async () => {
      // Prepare
      const env = awsEnvironment({ GATEWAY_CONFIG: join(dir, 'local.yaml') });

      // Act
      const gateway = await gatewayFromEnvironment(env)();

      // Assess
      expect(Object.keys(gateway.config.signingKeys)).toEqual(['primary']);
    });
  });
});
