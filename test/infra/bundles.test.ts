// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} placeholders of the configurations under test
// The Lambda bundles as Lambda runs them: each built by scripts/build.ts exactly as `npm run build` does
// (into a temporary directory, so this file and package.test.ts can run side by side), loaded in a fresh
// Node process with no TypeScript loader and no node_modules in reach, and invoked once with a real API
// Gateway HTTP API (payload 2.0) event. Configurations are compiled as `npm run build` compiles them; no
// network but the AWS emulator on loopback, for the KMS key of the jwks cold start.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfigFile } from '#lib/config/compile-config.ts';
import { VERSION } from '#lib/version.ts';
import { httpApiEvent } from '#test/support/api-gateway-events.ts';
import { type AwsEmulator, startAwsEmulator } from '#test/support/aws-emulator.ts';
import {
  type BundleResult,
  bundleFunction,
  FORBIDDEN_INPUTS,
  functionNames,
  INIT_BYTES_BUDGET,
} from '../../scripts/build.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RUNNER = join(ROOT, 'scripts', 'invoke-bundle.mjs');

interface Invocation {
  readonly exitCode: number;
  readonly stdout: string;
  /** Where the Powertools logger writes warnings and errors (Lambda sends both streams to CloudWatch). */
  readonly stderr: string;
  readonly result?: { statusCode: number; headers: Record<string, string>; body: string };
  readonly error?: string;
}

let dir: string;
let emulator: AwsEmulator;
const bundles: Record<string, BundleResult> = {};

/** Writes the configuration as written, and returns the compiled JSON beside it, as the build ships it. */
async function writeConfig(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  const compiled = path.replace(/\.yaml$/, '.json');
  await writeFile(compiled, JSON.stringify(await compileConfigFile(path)));
  return compiled;
}

/** A production configuration with a local key (generated on first use) and no AWS at all. */
const localConfig = () => `
environment: production
signingKeys:
  primary: { type: local, path: ${join(dir, 'signing-key.json')}, generate: true }
targets:
  demo:
    tokenEndpoint: https://as.example/token
    clientId: gateway
    clientAuthentication: { method: none }
callers:
  cics:
    apiKeys: [{ sha256: '${'0'.repeat(64)}' }]
    targets: { demo: {} }
`;

/** Runs one bundle in a new process, as a Lambda cold start: import (init), then one invocation. */
function invoke(
  name: string,
  event: APIGatewayProxyEventV2,
  env: NodeJS.ProcessEnv = {},
): Promise<Invocation> {
  const bundle = bundles[name];
  if (!bundle) throw new Error(`no bundle ${name}`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [RUNNER, bundle.file, JSON.stringify(event)],
      {
        // A clean environment: no credentials, no instance metadata, nothing the test runner set.
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'eu-central-1',
          AWS_EC2_METADATA_DISABLED: 'true',
          ...env,
        },
        cwd: dir,
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const line = (prefix: string) =>
          stdout
            .split('\n')
            .find((l) => l.startsWith(prefix))
            ?.slice(prefix.length);
        const result = line('@@result ');
        resolve({
          exitCode: error ? Number(error.code ?? 1) : 0,
          stdout,
          stderr,
          result: result === undefined ? undefined : JSON.parse(result),
          error: line('@@error '),
        });
      },
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundles-'));
  emulator = await startAwsEmulator({ region: 'eu-central-1' });
  for (const name of await functionNames()) {
    // Copied away from the repository, so a bundle that still needed node_modules would fail to load.
    const built = await bundleFunction(name, join(dir, 'build', name));
    await cp(join(dir, 'build', name), join(dir, 'task', 'dist', name), { recursive: true });
    bundles[name] = { ...built, file: join(dir, 'task', 'dist', name, 'index.mjs') };
  }
}, 120_000);

afterAll(async () => {
  await emulator?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('bundled functions', () => {
  it('health answers 200 with the version', async () => {
    const { result, error } = await invoke('health', httpApiEvent({ method: 'GET', path: '/health' }));
    expect(error).toBeUndefined();
    expect(result?.statusCode).toBe(200);
    expect(JSON.parse(result!.body)).toEqual({ status: 'ok', version: VERSION });
  });

  it('jwks answers 200 with the public key of a local-key configuration', async () => {
    const config = await writeConfig('jwks.yaml', localConfig());
    const { result, error } = await invoke(
      'jwks',
      httpApiEvent({ method: 'GET', path: '/.well-known/jwks.json' }),
      { GATEWAY_CONFIG: config },
    );
    expect(error).toBeUndefined();
    expect(result?.statusCode).toBe(200);
    const { keys } = JSON.parse(result!.body) as { keys: Array<Record<string, string>> };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
  });

  it('token refuses a request without a caller credential with 401', async () => {
    const config = await writeConfig('token.yaml', localConfig());
    const { result, error } = await invoke(
      'token',
      httpApiEvent({ method: 'POST', path: '/v1/token', body: { target: 'demo', subject: 'CICSUSR1' } }),
      { GATEWAY_CONFIG: config },
    );
    expect(error).toBeUndefined();
    expect(result?.statusCode).toBe(401);
    expect(JSON.parse(result!.body)).toMatchObject({ error: 'unauthorized_caller' });
  });

  it('jwks loads the KMS client on demand and answers with the public key KMS holds', async () => {
    // Prepare
    const { arn } = await emulator.createKey('ECC_NIST_P256');
    const config = await writeConfig(
      'jwks-kms.yaml',
      localConfig().replace(
        /primary: \{ type: local.*\}/,
        'primary: { type: kms, keyId: "${env:SIGNING_KEY_ID}" }',
      ),
    );
    emulator.resetCalls();

    // Act
    const { result, error } = await invoke(
      'jwks',
      httpApiEvent({ method: 'GET', path: '/.well-known/jwks.json' }),
      {
        GATEWAY_CONFIG: config,
        SIGNING_KEY_ID: arn,
        AWS_ENDPOINT_URL: emulator.endpoint,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
    );

    // Assess
    expect(error).toBeUndefined();
    expect(result?.statusCode).toBe(200);
    const { keys } = JSON.parse(result!.body) as { keys: Array<Record<string, string>> };
    expect(keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256' })]);
    expect(emulator.countCalls('GetPublicKey')).toBe(1);
  });

  it('token serves the RFC 6749 facade route: 401 invalid_client with a Basic challenge, form errors as OAuth errors', async () => {
    const config = await writeConfig('token-facade.yaml', localConfig());
    const facadeEvent = (body: string, contentType = 'application/x-www-form-urlencoded') => ({
      ...httpApiEvent({
        method: 'POST',
        path: '/oauth2/demo/token',
        headers: { 'content-type': contentType },
        body,
      }),
      routeKey: 'POST /oauth2/{target}/token',
      pathParameters: { target: 'demo' },
    });
    const unauthenticated = await invoke(
      'token',
      facadeEvent('grant_type=password&username=CICSUSR1&password=x'),
      {
        GATEWAY_CONFIG: config,
      },
    );
    const json = await invoke('token', facadeEvent('{}', 'application/json'), { GATEWAY_CONFIG: config });
    expect(unauthenticated.error).toBeUndefined();
    expect(unauthenticated.result?.statusCode).toBe(401);
    expect(unauthenticated.result?.headers).toMatchObject({
      'www-authenticate': 'Basic realm="jwt-bearer-gateway", charset="UTF-8"',
    });
    expect(JSON.parse(unauthenticated.result!.body)).toEqual({
      error: 'invalid_client',
      error_description: expect.any(String),
    });
    expect(json.result?.statusCode).toBe(415);
    expect(JSON.parse(json.result!.body)).toMatchObject({ error: 'invalid_request' });
  });

  it('token serves POST /v1/token/invalidate as the invalidation DELETE /v1/token is, not as a token request', async () => {
    // Prepare: a caller whose key the test holds; the body carries access_token, which a token request refuses.
    const key = 'cics-invalidate-key-5e1b7a9c3d';
    const hash = createHash('sha256').update(key).digest('hex');
    const config = await writeConfig('token-invalidate.yaml', localConfig().replace('0'.repeat(64), hash));
    const event = httpApiEvent({
      method: 'POST',
      path: '/v1/token/invalidate',
      headers: { 'x-api-key': key },
      body: { target: 'demo', subject: 'CICSUSR1', access_token: 'refused-by-the-api' },
    });

    // Act
    const { result, error } = await invoke(
      'token',
      {
        ...event,
        routeKey: 'POST /v1/token/invalidate',
        requestContext: { ...event.requestContext, routeKey: 'POST /v1/token/invalidate' },
      },
      { GATEWAY_CONFIG: config },
    );

    // Assess
    expect(error).toBeUndefined();
    expect(result?.statusCode).toBe(200);
    expect(JSON.parse(result!.body)).toEqual({ invalidated: false });
  });

  it('token serves proxy mode on its /v1/call route: a caller without a credential gets 401', async () => {
    const config = await writeConfig('call.yaml', localConfig());
    const event = httpApiEvent({
      method: 'GET',
      path: '/v1/call/demo/whoami',
      headers: { 'x-subject': 'CICSUSR1' },
    });
    const { result, error } = await invoke(
      'token',
      { ...event, requestContext: { ...event.requestContext, routeKey: 'ANY /v1/call/{target}/{path+}' } },
      { GATEWAY_CONFIG: config },
    );
    expect(error).toBeUndefined();
    expect(result?.statusCode).toBe(401);
    expect(result?.headers?.['x-gateway-error']).toBe('true');
    expect(JSON.parse(result!.body)).toMatchObject({ error: 'unauthorized_caller' });
  });

  it.each([
    // jwks needs only the signing keys' variables (serverless.yml gives it no others); token needs all.
    {
      name: 'token',
      field: 'targets.demo.clientId',
      from: 'clientId: gateway',
      to: 'clientId: "${env:CLIENT_ID}"',
    },
    {
      name: 'jwks',
      field: 'signingKeys.primary.kid',
      from: 'generate: true }',
      to: 'generate: true, kid: "${env:CLIENT_ID}" }',
    },
  ])(
    '$name fails its cold start on an unset placeholder it needs, naming the field',
    async ({ name, field, from, to }) => {
      // Prepare
      const config = await writeConfig(`${name}-unset.yaml`, localConfig().replace(from, to));

      // Act
      const { exitCode, stderr, result, error } = await invoke(
        name,
        httpApiEvent({ method: 'GET', path: '/.well-known/jwks.json' }),
        { GATEWAY_CONFIG: config },
      );

      // Assess
      expect(exitCode).toBe(1);
      expect(result).toBeUndefined();
      expect(error).toMatch(/^import: ConfigError/);
      const failure = loggedErrors(stderr).find(
        (entry) => entry.message === 'gateway configuration invalid: fix it and redeploy',
      );
      expect(failure?.level).toBe('ERROR');
      expect(failure?.error_chain[0]).toContain(`${field}: environment variable CLIENT_ID is not set`);
    },
  );

  it.each(['token', 'jwks'])('%s refuses a configuration that was not compiled, saying how', async (name) => {
    // Prepare: YAML as written, which the functions no longer parse.
    const config = join(dir, `${name}-as-written.yaml`);
    await writeFile(config, localConfig());

    // Act
    const { exitCode, stderr, error } = await invoke(
      name,
      httpApiEvent({ method: 'GET', path: '/.well-known/jwks.json' }),
      { GATEWAY_CONFIG: config },
    );

    // Assess
    expect(exitCode).toBe(1);
    expect(error).toMatch(/^import: ConfigError/);
    expect(
      loggedErrors(stderr)
        .map((entry) => entry.error_chain?.[0])
        .join('\n'),
    ).toMatch(/not a compiled configuration: deploy the gateway\.json that npm run build writes/);
  });
});

function loggedErrors(stderr: string) {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; message: string; error_chain: string[] });
}

describe('bundle contents', () => {
  it.each(['token', 'jwks', 'health'])('%s contains no test, demo or local-only code', async (name) => {
    const bundle = bundles[name]!;
    const forbidden = bundle.inputs.filter((input) =>
      FORBIDDEN_INPUTS.some((pattern) => pattern.test(input)),
    );
    expect(forbidden).toEqual([]);
    expect(bundle.inputs.some((input) => input.startsWith(`functions/${name}.ts`))).toBe(true);
    const code = (await Promise.all(bundle.files.map((file) => readFile(file, 'utf8')))).join('\n');
    for (const marker of [
      'oidc-provider',
      'lib/local',
      'demo-authorization-server',
      'fast-check',
      'dynalite',
    ]) {
      expect(code).not.toContain(marker);
    }
    // node:http through require, never an ES module import (whose facade loads undici): scripts/build.ts.
    expect(code).not.toMatch(/from\s*"node:https?"/);
  });

  it.each(['token', 'jwks', 'health'])('%s stays under 1 MB, and within its init budget', (name) => {
    expect(bundles[name]!.bytes).toBeLessThan(1_000_000);
    expect(bundles[name]!.initialBytes).toBeLessThanOrEqual(INIT_BYTES_BUDGET[name]!);
  });

  it.each([
    // name, packages its init must not evaluate
    ['token', ['yaml', 'zod/v4/classic', '@aws-sdk/', '@smithy/']],
    ['jwks', ['yaml', 'zod/', '@aws-sdk/', '@smithy/', 'oauth4webapi']],
    ['health', ['yaml', 'zod/', '@aws-sdk/', '@middy/', '@aws-lambda-powertools/', 'jose']],
  ] as const)('%s init loads none of what its requests do not need', (name, absent) => {
    const { initialInputs } = bundles[name]!;
    for (const part of absent) {
      expect(initialInputs.filter((input) => input.includes(`node_modules/${part}`))).toEqual([]);
    }
  });

  it('bundles the AWS SDK at the version the lock file installed', async () => {
    const bundle = bundles.token!;
    const code = (await Promise.all(bundle.files.map((file) => readFile(file, 'utf8')))).join('\n');
    for (const client of ['client-kms', 'client-dynamodb', 'client-secrets-manager']) {
      const { version } = JSON.parse(
        await readFile(join(ROOT, 'node_modules', '@aws-sdk', client, 'package.json'), 'utf8'),
      ) as { version: string };
      expect(code).toContain(`name:"@aws-sdk/${client}",version:"${version}"`);
      expect(
        bundle.inputs.some((input) => input.startsWith(`node_modules/@aws-sdk/${client}/dist-es/`)),
      ).toBe(true);
    }
  });
});
