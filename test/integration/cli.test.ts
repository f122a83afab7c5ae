// biome-ignore-all lint/suspicious/noTemplateCurlyInString: deploy configurations hold ${env:NAME} placeholders.
// The operator CLI, run in-process (cli/main.ts `main`) as an operator would run it, against real parts:
// the AWS protocol emulator for KMS and Secrets Manager, the oidc-provider demo authorization server, and
// the gateway's own JWKS. One test runs the bin file itself.
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import 'reflect-metadata';
import { Pkcs10CertificateRequest } from '@peculiar/x509';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { main } from '#cli/main.ts';
import { createGateway } from '#lib/composition.ts';
import { ConfigError, loadConfigFile, parseConfig } from '#lib/config/load-config.ts';
import {
  type DemoAuthorizationServer,
  startDemoAuthorizationServer,
} from '#lib/local/demo-authorization-server.ts';
import { apiKeyHash } from '#lib/policy/caller-policy.ts';
import { type AwsEmulator, awsClientConfig, startAwsEmulator } from '#test/support/aws-emulator.ts';
import { serveJwks } from '#test/support/jwks-server.ts';
import { checkDeployConfig } from '../../scripts/build.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLIENT_SECRET = 'cli-test-client-secret-3b9d';

let dir: string;
let emulator: AwsEmulator;
let kms: KMSClient;
let secretsManager: SecretsManagerClient;
let as: DemoAuthorizationServer;
let jwks: { url: string; close(): Promise<void> };
let localConfig: string;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: Record<string, unknown> & { ok?: boolean };
}

/** Runs one command line in-process with the emulator's AWS clients. */
async function cli(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    env: { GW_CLIENT_SECRET: CLIENT_SECRET, ...options.env },
    stdout: (text) => {
      stdout += `${text}\n`;
    },
    stderr: (text) => {
      stderr += `${text}\n`;
    },
    aws: { kms, secretsManager },
    readStdin: async () => options.stdin ?? '',
  });
  let json = {};
  try {
    json = JSON.parse(stdout);
  } catch {
    // text output
  }
  return { code, stdout, stderr, json };
}

async function writeConfig(name: string, document: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, toYaml(document));
  return path;
}

/** A configuration with a local key trusted by the demo AS, and targets it accepts or refuses. */
function localDocument() {
  const target = {
    issuer: as.issuer,
    tokenEndpoint: as.tokenEndpoint,
    clientId: 'cli-gw',
    clientAuthentication: { method: 'client_secret_basic', secret: { env: 'GW_CLIENT_SECRET' } },
    assertion: { issuer: 'cli-gateway' },
    scope: 'demo.read',
    maxRetries: 0,
  };
  return {
    signingKeys: { blue: { type: 'local', path: join(dir, 'blue.json'), generate: true } },
    targets: {
      demo: target,
      untrusted: { ...target, assertion: { issuer: 'an-issuer-the-server-does-not-trust' } },
      'wrong-secret': {
        ...target,
        clientAuthentication: { method: 'client_secret_basic', secret: { env: 'NOT_THE_SECRET' } },
      },
    },
    callers: { cics: { apiKeys: [{ sha256: apiKeyHash('k') }], targets: { demo: {} } } },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-'));
  emulator = await startAwsEmulator();
  kms = new KMSClient({ ...awsClientConfig(emulator), maxAttempts: 1 });
  secretsManager = new SecretsManagerClient({ ...awsClientConfig(emulator), maxAttempts: 1 });
  // The AS trusts the local key through a JWKS served from the same configuration's key ring.
  const { config } = parseConfig({
    signingKeys: { blue: { type: 'local', path: join(dir, 'blue.json'), generate: true } },
    targets: {
      t: {
        tokenEndpoint: 'https://as.example/token',
        clientId: 'x',
        clientAuthentication: { method: 'none' },
      },
    },
  });
  jwks = await serveJwks(createGateway(config).keyRing);
  as = await startDemoAuthorizationServer({
    clients: [
      {
        client_id: 'cli-gw',
        client_secret: CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [JWT_BEARER],
        scope: 'openid demo.read',
      },
    ],
    trustedIssuers: [{ issuer: 'cli-gateway', jwksUri: jwks.url, clientIds: ['cli-gw'] }],
  });
  localConfig = await writeConfig('local.yaml', localDocument());
});

afterAll(async () => {
  await as?.close();
  await jwks?.close();
  kms?.destroy();
  secretsManager?.destroy();
  await emulator?.close();
});

describe('jwt-bearer-gateway CLI', () => {
  describe('bin', () => {
    it('runs from package.json bin with --help, and exits 2 on an unknown command', async () => {
      // Prepare
      const bin = join(ROOT, 'bin', 'jwt-bearer-gateway.mjs');
      const run = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(process.execPath, [bin, ...args], { cwd: ROOT }, (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
          );
        });
      const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));

      // Act
      const help = await run(['--help']);
      const unknown = await run(['frobnicate']);

      // Assess
      expect(pkg.bin).toEqual({ 'jwt-bearer-gateway': 'bin/jwt-bearer-gateway.mjs' });
      expect(help.code).toBe(0);
      for (const command of [
        'check-config',
        'hash-key',
        'jwks',
        'test-target',
        'rotate-key',
        'certificate',
      ]) {
        expect(help.stdout).toContain(command);
      }
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown command "frobnicate"');
    });
    it('runs from a checkout whose path needs percent-encoding in a URL (a space, non-ASCII)', async () => {
      // Prepare: the bin in a directory named like many home directories; the rest of the checkout linked.
      const checkout = join(await mkdtemp(join(tmpdir(), 'cli-bin-')), 'Jürgen’s gateway');
      await mkdir(join(checkout, 'bin'), { recursive: true });
      await copyFile(
        join(ROOT, 'bin', 'jwt-bearer-gateway.mjs'),
        join(checkout, 'bin', 'jwt-bearer-gateway.mjs'),
      );
      for (const name of ['cli', 'lib', 'node_modules', 'package.json']) {
        await symlink(join(ROOT, name), join(checkout, name));
      }

      // Act
      const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(checkout, 'bin', 'jwt-bearer-gateway.mjs'), '--help'],
          { cwd: checkout },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        );
      });

      // Assess
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('check-config');
    });
  });

  describe('AWS settings', () => {
    it('says in one line that the AWS region is missing, before any KMS call', async () => {
      // Prepare: the bin in a clean environment (no region, no profile, no credentials anywhere)
      const path = await writeConfig('needs-kms.yaml', {
        signingKeys: { blue: { type: 'kms', keyId: 'alias/somewhere' } },
        targets: localDocument().targets,
      });
      const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(ROOT, 'bin', 'jwt-bearer-gateway.mjs'), 'jwks', '--config', path],
          {
            cwd: ROOT,
            env: {
              PATH: process.env.PATH,
              HOME: dir,
              AWS_EC2_METADATA_DISABLED: 'true',
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
            },
          },
          (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }),
        );
      });

      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe(
        "jwks failed: no AWS region for KMS: set AWS_REGION (or a profile's region)",
      );
    });
  });

  describe('check-config', () => {
    it('accepts the shipped deploy configuration and lists what it checked', async () => {
      // Act
      const run = await cli(['check-config', '--config', join(ROOT, 'config', 'gateway.yaml'), '--json']);

      // Assess
      expect(run.code).toBe(0);
      expect(run.json).toMatchObject({ ok: true, valid: true, signingKeys: ['blue'], targets: ['okta'] });
      expect(run.json.placeholders).toContain('signingKeys.blue.keyId');
    });

    it('refuses a broken configuration with the build’s own messages', async () => {
      // Prepare
      const document = localDocument() as Record<string, unknown>;
      document.targets = {
        demo: { ...localDocument().targets.demo, clientAuthentication: { method: 'secret_post' } },
      };
      const path = await writeConfig('broken.yaml', document);
      const build = await checkDeployConfig(path).catch((error: unknown) => error as ConfigError);

      // Act
      const text = await cli(['check-config', '--config', path]);
      const json = await cli(['check-config', '--config', path, '--json']);

      // Assess
      expect(build).toBeInstanceOf(ConfigError);
      expect(text.code).toBe(1);
      expect(text.stdout.trim()).toBe((build as ConfigError).message);
      expect(json.json).toMatchObject({ ok: false, valid: false, issues: (build as ConfigError).issues });
    });

    it('says a file it cannot read is unreadable, as npm start does, not that it is invalid YAML', async () => {
      // Prepare
      const path = join(dir, 'no-such-gateway.yaml');

      // Act
      const run = await cli(['check-config', '--config', path, '--json']);

      // Assess
      expect(run.code).toBe(1);
      expect(run.json).toMatchObject({
        valid: false,
        issues: [{ path: '', message: 'cannot read the file (ENOENT)' }],
      });
    });

    it('says where and what a YAML syntax error is, as npm start does, never the text around it', async () => {
      // Prepare
      const secret = 'Hunter2-literal-secret';
      const path = join(dir, 'unclosed.yaml');
      await writeFile(path, `targets:\n  demo:\n    clientAuthentication: { secret: { value: "${secret} }\n`);
      const started = (await loadConfigFile(path).catch((error: unknown) => error)) as ConfigError;

      // Act
      const run = await cli(['check-config', '--config', path, '--json']);
      const build = (await checkDeployConfig(path).catch((error: unknown) => error)) as ConfigError;

      // Assess
      expect(started.issues[0]?.message).toMatch(/^not valid YAML or JSON at line 4, column 1: MISSING_CHAR/);
      expect(run.json).toMatchObject({ valid: false, issues: started.issues });
      expect(build.issues).toEqual(started.issues);
      expect(JSON.stringify({ run, build: build.message, cause: String(build.cause) })).not.toContain(secret);
    });
  });

  describe('hash-key', () => {
    it('generates a key and prints the hash the caller policy compares', async () => {
      // Act
      const run = await cli(['hash-key', '--json']);

      // Assess
      expect(run.code).toBe(0);
      const { key, sha256 } = run.json as { key: string; sha256: string };
      expect(Buffer.from(key, 'base64url')).toHaveLength(32);
      expect(sha256).toBe(apiKeyHash(key));
    });

    it('hashes a key read from standard input, and never prints it back', async () => {
      // Act
      const run = await cli(['hash-key', '--stdin'], { stdin: 'existing-key-123\n' });

      // Assess
      expect(run.stdout).toContain(apiKeyHash('existing-key-123'));
      expect(run.stdout).not.toContain('existing-key-123');
    });

    it('refuses a key length that is too short, as a usage error', async () => {
      // Act
      const run = await cli(['hash-key', '--bytes', '8']);

      // Assess
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('--bytes must be a whole number from 16 to 128');
    });
  });

  describe('jwks', () => {
    it('prints the JWKS of a stage, reading its KMS key through the stage’s alias', async () => {
      // Prepare
      await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY', 'alias/jwt-bearer-gateway-qa-signing-blue');
      const path = await writeConfig('deployed.yaml', {
        signingKeys: { blue: { type: 'kms', keyId: '${env:SIGNING_KEY_BLUE_ID}' } },
        targets: localDocument().targets,
        cache: {
          dynamodb: { tableName: '${env:TOKEN_TABLE}', encryption: { kmsKeyId: '${env:CACHE_KEY_ID}' } },
        },
      });

      // Act
      const run = await cli(['jwks', '--config', path, '--stage', 'qa', '--json']);

      // Assess
      expect(run.code).toBe(0);
      const { keys, jwks: set } = run.json as {
        keys: Array<{ kid: string; alg: string }>;
        jwks: { keys: JWK[] };
      };
      expect(keys).toEqual([{ id: 'blue', kid: expect.any(String), alg: 'ES256', retired: false }]);
      expect(set.keys[0]!.kid).toBe(keys[0]!.kid);
      expect(await calculateJwkThumbprint(set.keys[0]!, 'sha256')).toBe(keys[0]!.kid);
      expect(emulator.calls.at(-1)).toMatchObject({
        operation: 'GetPublicKey',
        input: { KeyId: 'alias/jwt-bearer-gateway-qa-signing-blue' },
      });
    });
  });

  describe('test-target', () => {
    it('says how to fill the deploy configuration placeholders it lacks (issue 17, item 17)', async () => {
      // Act: the deploy configuration, whose key ids serverless.yml fills, and nothing to fill them.
      const run = await cli([
        'test-target',
        'okta',
        '--subject',
        'CICSUSR1',
        '--config',
        join(ROOT, 'config', 'gateway.yaml'),
      ]);

      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('SIGNING_KEY_BLUE_ID is not set');
      expect(run.stderr).toMatch(/--stage STAGE/);
      expect(run.stderr).toMatch(/npm start/);
    });

    it('signs, exchanges once at the demo authorization server and reports each step', async () => {
      // Act
      const run = await cli([
        'test-target',
        'demo',
        '--subject',
        'CICSUSR1',
        '--config',
        localConfig,
        '--json',
      ]);

      // Assess
      expect(run.code).toBe(0);
      expect((run.json.steps as Array<{ step: string; ok: boolean }>).map((s) => [s.step, s.ok])).toEqual([
        ['signing key', true],
        ['token endpoint', true],
        ['assertion', true],
        ['exchange', true],
      ]);
      const request = as.tokenRequests.at(-1)!;
      expect(request).toMatchObject({ grantType: JWT_BEARER, clientId: 'cli-gw', status: 200 });
      // The token itself is never printed.
      expect(JSON.stringify(run.json)).not.toMatch(/eyJ|access_token/);
    });

    it('explains a refused assertion in plain words', async () => {
      // Act
      const run = await cli(['test-target', 'untrusted', '--subject', 'CICSUSR1', '--config', localConfig]);

      // Assess
      expect(run.code).toBe(1);
      expect(as.tokenRequests.at(-1)).toMatchObject({ error: 'invalid_grant' });
      expect(run.stdout).toContain('FAIL exchange');
      expect(run.stdout).toContain('Why: The authorization server refused the assertion');
      expect(run.stdout).toContain('iss an-issuer-the-server-does-not-trust');
    });

    it('prints every step once in a terminal, where stdout and stderr are one screen (issue 17, item 18)', async () => {
      // Act
      const run = await cli(['test-target', 'demo', '--subject', 'CICSUSR1', '--config', localConfig]);

      // Assess: what a terminal shows is both streams; each step is on it once, in order.
      expect(run.code).toBe(0);
      const screen = `${run.stderr}${run.stdout}`.split('\n').filter((line) => line !== '');
      expect(screen.map((line) => line.split(':')[0])).toEqual([
        'ok   signing key',
        'ok   token endpoint',
        'ok   assertion',
        'ok   exchange',
      ]);
    });

    it('explains a refused client authentication', async () => {
      // Act
      const run = await cli(
        ['test-target', 'wrong-secret', '--subject', 'CICSUSR1', '--config', localConfig, '--json'],
        {
          env: { NOT_THE_SECRET: 'wrong' },
        },
      );

      // Assess
      expect(run.code).toBe(1);
      expect(run.json.error).toMatchObject({
        code: 'invalid_client',
        explanation: expect.stringContaining('did not accept the client authentication'),
      });
    });

    it('names the targets there are when asked for one that is not', async () => {
      // Act
      const run = await cli(['test-target', 'nope', '--subject', 'U', '--config', localConfig]);

      // Assess
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('no target "nope"; the configuration has: demo, untrusted, wrong-secret');
    });
  });

  describe('rotate-key', () => {
    /** `rotate-key --to green` on `config` with the step's own options, answering in JSON. */
    const rotateToGreen = (config: string, ...options: string[]) =>
      cli(['rotate-key', '--to', 'green', '--config', config, ...options, '--json']);

    /** A JWKS endpoint publishing exactly these keys, with the gateway's cache header. */
    async function publish(keys: JWK[]): Promise<{ url: string; server: Server }> {
      const server = createServer((_req, res) =>
        res
          .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' })
          .end(JSON.stringify({ keys })),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, server };
    }
    const rotationConfig = (
      green?: { retired: boolean },
      blue: { retired: boolean } | null = { retired: false },
    ) =>
      writeConfig('rotation.yaml', {
        signingKeys: {
          ...(blue ? { blue: { type: 'local', path: join(dir, 'blue.json'), generate: true, ...blue } } : {}),
          ...(green
            ? { green: { type: 'local', path: join(dir, 'green.json'), generate: true, ...green } }
            : {}),
        },
        targets: { demo: localDocument().targets.demo },
      });

    it('starts with step 1: what to set and deploy', async () => {
      // Act
      const run = await rotateToGreen(await rotationConfig());

      // Assess
      expect(run.code).toBe(0);
      expect(run.json).toMatchObject({ phase: 'add', from: 'blue', to: 'green' });
      expect((run.json.next as string[]).join('\n')).toContain('signingKeyGreen: "true"');
    });

    it('will not move on to the switch while the deployed JWKS lacks the new key', async () => {
      // Prepare
      const config = await rotationConfig({ retired: true });
      const keyRing = createGateway((await loadConfigFile(config)).config).keyRing;
      const published = await publish([(await keyRing.describe('blue')).publicJwk as JWK]);

      // Act
      const run = await rotateToGreen(config, '--jwks-url', published.url);
      published.server.close();

      // Assess
      expect(run.code).toBe(1);
      expect(run.json.phase).toBe('published');
      expect(run.json.checks).toContainEqual(
        expect.objectContaining({ check: 'green published', ok: false }),
      );
      expect(run.json.next).toEqual([]);
    });

    it('once both keys are published, says to wait and how to switch', async () => {
      // Prepare
      const config = await rotationConfig({ retired: true });
      const keyRing = createGateway((await loadConfigFile(config)).config).keyRing;
      const published = await publish((await keyRing.jwks()).keys as JWK[]);

      // Act
      const run = await rotateToGreen(config, '--jwks-url', published.url);
      published.server.close();

      // Assess
      expect(run.code).toBe(0);
      expect(run.json.phase).toBe('published');
      const next = (run.json.next as string[]).join('\n');
      expect(next).toContain('at least 300 s');
      expect(next).toMatch(/blue: .*retired: true/);
    });

    it('after the switch, says how long to wait before removing the old key', async () => {
      // Act
      const run = await rotateToGreen(await rotationConfig({ retired: false }, { retired: true }));

      // Assess
      expect(run.json.phase).toBe('switched');
      expect((run.json.next as string[]).join('\n')).toContain('signingKeyBlue: "false"');
    });

    it('with only the new key left, checks the deployed JWKS no longer needs the old one and says it is done', async () => {
      // Prepare
      const config = await rotationConfig({ retired: false }, null);
      const keyRing = createGateway((await loadConfigFile(config)).config).keyRing;
      const published = await publish((await keyRing.jwks()).keys as JWK[]);

      // Act
      const run = await rotateToGreen(config, '--from', 'blue', '--jwks-url', published.url);
      published.server.close();

      // Assess
      expect(run.code).toBe(0);
      expect(run.json.phase).toBe('done');
      expect(run.json.checks).toContainEqual(expect.objectContaining({ check: 'green published', ok: true }));
      // The last step: the retired key is to be disabled, then deleted.
      expect((run.json.next as string[]).join('\n')).toContain(
        'rotate-key --to green --from blue --stage <stage> --disable',
      );
    });

    it('last, disables the retired KMS key once only the new key is deployed and published', async () => {
      // Prepare: blue was a KMS key; the stack no longer holds it and green alone signs and is published.
      const { arn } = await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY');
      const config = await rotationConfig({ retired: false }, null);
      const keyRing = createGateway((await loadConfigFile(config)).config).keyRing;
      const published = await publish((await keyRing.jwks()).keys as JWK[]);

      // Act
      const run = await rotateToGreen(
        config,
        '--from',
        'blue',
        '--jwks-url',
        published.url,
        '--disable',
        arn,
      );
      published.server.close();

      // Assess
      expect(run.code).toBe(0);
      expect(run.json).toMatchObject({ phase: 'done', disabled: true });
      expect(run.json.checks).toContainEqual(
        expect.objectContaining({ check: 'retiring published', ok: true }),
      );
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: arn }));
      expect(KeyMetadata).toMatchObject({ Enabled: false, KeyState: 'Disabled' });
      expect((run.json.next as string[]).join('\n')).toContain(
        `aws kms schedule-key-deletion --key-id ${arn}`,
      );
    });

    it('will not disable a key the deployed JWKS still publishes', async () => {
      // Prepare: the JWKS still has blue's key (the removal is not deployed yet).
      const { arn } = await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY');
      const config = await rotationConfig({ retired: false }, null);
      const withBlue = await writeConfig('with-blue.yaml', {
        signingKeys: { blue: { type: 'kms', keyId: arn } },
        targets: { demo: localDocument().targets.demo },
      });
      const blue = await createGateway((await loadConfigFile(withBlue)).config, {
        aws: { kms },
      }).keyRing.describe('blue');
      const green = await createGateway((await loadConfigFile(config)).config).keyRing.describe('green');
      const published = await publish([blue.publicJwk as JWK, green.publicJwk as JWK]);

      // Act
      const run = await rotateToGreen(
        config,
        '--from',
        'blue',
        '--jwks-url',
        published.url,
        '--disable',
        arn,
      );
      published.server.close();

      // Assess
      expect(run.code).toBe(1);
      expect(run.json.disabled).toBe(false);
      expect((await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.Enabled).toBe(true);
    });

    it('will not disable the key the new slot signs with', async () => {
      // Prepare: green is the KMS key named by --disable.
      const { arn } = await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY');
      const config = await writeConfig('green-kms.yaml', {
        signingKeys: { green: { type: 'kms', keyId: arn } },
        targets: { demo: localDocument().targets.demo },
      });

      // Act
      const run = await rotateToGreen(config, '--from', 'blue', '--disable', arn);

      // Assess
      expect(run.code).toBe(1);
      expect(run.json.checks).toContainEqual(
        expect.objectContaining({ check: 'blue is not green', ok: false }),
      );
      expect((await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.Enabled).toBe(true);
    });

    it('refuses --disable before the old key is removed from the deployment', async () => {
      // Act
      const run = await cli([
        'rotate-key',
        '--to',
        'green',
        '--config',
        await rotationConfig({ retired: false }, { retired: true }),
        '--disable',
        'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      ]);

      // Assess
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('--disable is the last step');
    });

    it('refuses a configuration where both keys sign, naming the problem', async () => {
      // Act
      const config = await rotationConfig({ retired: false });
      const run = await cli(['rotate-key', '--to', 'green', '--config', config]);

      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('rotate-key failed: invalid configuration in');
      expect(run.stderr).toMatch(/targets\.demo\.assertion\.signingKey: .+/);
    });
  });

  describe('certificate', () => {
    it.each([
      ['ECC_NIST_P256', undefined],
      ['RSA_2048', 'RS256'],
      ['RSA_2048', 'PS256'],
    ])(
      'creates a self-signed certificate for a %s KMS key (%s), signed in KMS, that node:crypto verifies',
      async (keySpec, algorithm) => {
        // Prepare
        const { arn } = await emulator.createKey(keySpec, 'SIGN_VERIFY');
        const path = await writeConfig(`cert-${keySpec}-${algorithm}.yaml`, {
          signingKeys: { signer: { type: 'kms', keyId: arn, ...(algorithm ? { algorithm } : {}) } },
          targets: localDocument().targets,
        });
        emulator.resetCalls();

        // Act
        const run = await cli([
          'certificate',
          '--key',
          'signer',
          '--subject',
          'CN=jwt-bearer-gateway test, O=Example Corp',
          '--days',
          '30',
          '--config',
          path,
          '--json',
        ]);

        // Assess
        expect(run.code).toBe(0);
        const certificate = new X509Certificate(run.json.pem as string);
        expect(certificate.verify(certificate.publicKey)).toBe(true);
        expect(certificate.subject).toBe('CN=jwt-bearer-gateway test\nO=Example Corp');
        expect(certificate.issuer).toBe(certificate.subject);
        const kmsKey = createGateway(
          parseConfig({
            signingKeys: { s: { type: 'kms', keyId: arn, ...(algorithm ? { algorithm } : {}) } },
            targets: localDocument().targets,
          }).config,
          { aws: { kms } },
        ).keyRing;
        const jwk = (await kmsKey.describe('s')).publicJwk;
        expect(certificate.publicKey.equals(createPublicKey({ key: jwk as never, format: 'jwk' }))).toBe(
          true,
        );
        expect(run.json.x5tS256).toBe(createHash('sha256').update(certificate.raw).digest('base64url'));
        expect(emulator.countCalls('Sign')).toBe(1);
        const days = (Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)) / 86_400_000;
        expect(days).toBe(30);
      },
    );

    it('creates a CSR signed by the KMS key', async () => {
      // Prepare
      const { arn } = await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY');
      const path = await writeConfig('csr.yaml', {
        signingKeys: { signer: { type: 'kms', keyId: arn } },
        targets: localDocument().targets,
      });

      // Act
      const run = await cli([
        'certificate',
        '--key',
        'signer',
        '--subject',
        'CN=gateway',
        '--csr',
        '--config',
        path,
        '--json',
      ]);

      // Assess
      expect(run.code).toBe(0);
      const csr = new Pkcs10CertificateRequest(run.json.pem as string);
      expect(await csr.verify()).toBe(true);
      expect(csr.subject).toBe('CN=gateway');
    });

    it('gives the gateway x5t#S256 from a certificate kept in Secrets Manager', async () => {
      // Prepare
      const { arn } = await emulator.createKey('ECC_NIST_P256', 'SIGN_VERIFY');
      const document = {
        signingKeys: { signer: { type: 'kms', keyId: arn } },
        targets: localDocument().targets,
      };
      const made = await cli([
        'certificate',
        '--key',
        'signer',
        '--subject',
        'CN=gw',
        '--config',
        await writeConfig('x5t.yaml', document),
        '--json',
      ]);
      emulator.putSecret('jwt-bearer-gateway/certificates/signer', made.json.pem as string);
      const { config } = parseConfig({
        ...document,
        signingKeys: {
          signer: {
            type: 'kms',
            keyId: arn,
            certificate: { secretsManager: { secretId: 'jwt-bearer-gateway/certificates/signer' } },
          },
        },
      });

      // Act
      const description = await createGateway(config, { aws: { kms, secretsManager } }).keyRing.describe(
        'signer',
      );

      // Assess
      expect(description.x5tS256).toBe(made.json.x5tS256);
    });
  });
});
