import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configJsonSchema } from '#lib/config/json-schema.ts';
import { type ConfigError, loadConfigFile, parseConfig } from '#lib/config/load-config.ts';
import { describeError } from '#lib/observability/logger.ts';
import { configIssues } from './config-issues.ts';

const minimal = () => ({
  signingKeys: { primary: { type: 'kms', keyId: 'alias/k' } },
  targets: {
    demo: {
      tokenEndpoint: 'https://as.example/token',
      clientId: 'gw',
      clientAuthentication: { method: 'client_secret_basic', secret: { env: 'DEMO_SECRET' } },
    },
  },
});

const issuesOf = (document: unknown) => configIssues(() => parseConfig(document));

describe('parseConfig', () => {
  it('fills the documented defaults', () => {
    // Act
    const { config, warnings } = parseConfig(minimal());

    // Assess
    const demo = config.targets.demo!;
    expect(config.environment).toBe('production');
    expect(demo.grant).toBe('jwt-bearer');
    expect(demo.assertion).toMatchObject({ lifetimeSeconds: 60, audience: 'token_endpoint', type: 'JWT' });
    expect(demo.subject).toEqual({ template: '{subject}', case: 'preserve', maxLength: 64 });
    expect(demo.timeoutMs).toBe(5000);
    expect(warnings).toEqual([]);
  });

  it('accepts the example configuration shipped in examples/', async () => {
    // Prepare: its secret names hold the stage, which serverless.yml sets on every function.
    vi.stubEnv('GATEWAY_STAGE', 'prod');

    // Act
    const { config } = await loadConfigFile('examples/gateway.yaml');
    vi.unstubAllEnvs();

    // Assess
    expect(Object.keys(config.targets)).toEqual(['hydra-payments', 'keycloak-orders', 'salesforce']);
    expect(Object.keys(config.callers)).toEqual(['cics-prod', 'zosconnect-prod', 'batch']);
  });

  const cases: Array<[string, (doc: ReturnType<typeof minimal>) => unknown, string, RegExp]> = [
    [
      'an unknown field',
      (doc) => ({ ...doc, targets: { demo: { ...doc.targets.demo, tokenEndpiont: 'x' } } }),
      'targets.demo',
      /tokenEndpiont/,
    ],
    [
      'a lifetime over the 300 s cap',
      (doc) => ({ ...doc, targets: { demo: { ...doc.targets.demo, assertion: { lifetimeSeconds: 301 } } } }),
      'targets.demo.assertion.lifetimeSeconds',
      /300/,
    ],
    [
      'a clock skew that spends the whole lifetime',
      (doc) => ({
        ...doc,
        targets: { demo: { ...doc.targets.demo, assertion: { lifetimeSeconds: 30, clockSkewSeconds: 30 } } },
      }),
      'targets.demo.assertion.clockSkewSeconds',
      /less than lifetimeSeconds/,
    ],
    [
      'a subject pattern that cannot run in linear time (lookahead)',
      (doc) => ({
        ...doc,
        callers: {
          cics: {
            apiKeys: [{ sha256: 'a'.repeat(64) }],
            targets: { demo: { subjects: '(?!ADMIN$)[A-Z]{1,8}' } },
          },
        },
      }),
      'callers.cics.targets.demo.subjects',
      /lookaround \(\?! at position \d+ cannot run in linear time/,
    ],
    [
      'a non-URL token endpoint',
      (doc) => ({ ...doc, targets: { demo: { ...doc.targets.demo, tokenEndpoint: 'as.example/token' } } }),
      'targets.demo.tokenEndpoint',
      /URL/,
    ],
    [
      'a target with neither token endpoint nor issuer',
      (doc) => ({ ...doc, targets: { demo: { ...doc.targets.demo, tokenEndpoint: undefined } } }),
      'targets.demo.tokenEndpoint',
      /tokenEndpoint or issuer/,
    ],
    [
      'a secret reference with two sources',
      (doc) => ({
        ...doc,
        targets: {
          demo: {
            ...doc.targets.demo,
            clientAuthentication: { method: 'client_secret_basic', secret: { env: 'A', value: 'b' } },
          },
        },
      }),
      'targets.demo.clientAuthentication.secret',
      /exactly one/,
    ],
    [
      'an unknown client authentication method',
      (doc) => ({
        ...doc,
        targets: { demo: { ...doc.targets.demo, clientAuthentication: { method: 'tls' } } },
      }),
      'targets.demo.clientAuthentication.method',
      /./,
    ],
    [
      'a missing signing key reference',
      (doc) => ({ ...doc, targets: { demo: { ...doc.targets.demo, assertion: { signingKey: 'nope' } } } }),
      'targets.demo.assertion.signingKey',
      /no signing key named "nope"/,
    ],
    [
      'a retired signing key',
      (doc) => ({
        ...doc,
        signingKeys: { ...doc.signingKeys, old: { type: 'kms', keyId: 'alias/o', retired: true } },
        targets: { demo: { ...doc.targets.demo, assertion: { signingKey: 'old' } } },
      }),
      'targets.demo.assertion.signingKey',
      /retired/,
    ],
    [
      'an ambiguous default signing key',
      (doc) => ({ ...doc, signingKeys: { ...doc.signingKeys, second: { type: 'kms', keyId: 'alias/2' } } }),
      'targets.demo.assertion.signingKey',
      /2 active signing keys/,
    ],
    [
      'an extra claim that overrides sub',
      (doc) => ({ ...doc, targets: { demo: { ...doc.targets.demo, assertion: { claims: { sub: 'x' } } } } }),
      'targets.demo.assertion.claims',
      /may not set/,
    ],
    [
      'a parameter that overrides grant_type',
      (doc) => ({ ...doc, targets: { demo: { ...doc.targets.demo, parameters: { grant_type: 'x' } } } }),
      'targets.demo.parameters',
      /may not set/,
    ],
    [
      'a template without {subject}',
      (doc) => ({ ...doc, targets: { demo: { ...doc.targets.demo, subject: { template: 'fixed' } } } }),
      'targets.demo.subject.template',
      /\{subject\}/,
    ],
    [
      'audience issuer without an issuer',
      (doc) => ({ ...doc, targets: { demo: { ...doc.targets.demo, assertion: { audience: 'issuer' } } } }),
      'targets.demo.assertion.audience',
      /needs issuer/,
    ],
    [
      'the password grant without credentials',
      (doc) => ({ ...doc, targets: { demo: { ...doc.targets.demo, grant: 'password' } } }),
      'targets.demo.password',
      /username and password/,
    ],
    [
      'a literal secret in production',
      (doc) => ({
        ...doc,
        targets: {
          demo: {
            ...doc.targets.demo,
            clientAuthentication: { method: 'client_secret_post', secret: { value: 's3cret' } },
          },
        },
      }),
      'targets.demo.clientAuthentication.secret',
      /development/,
    ],
    [
      'a plain http token endpoint on a remote host',
      (doc) => ({
        ...doc,
        targets: { demo: { ...doc.targets.demo, tokenEndpoint: 'http://as.example/token' } },
      }),
      'targets.demo.tokenEndpoint',
      /use https/,
    ],
    [
      'a caller granted a target named like a built-in property',
      (doc) => ({
        ...doc,
        callers: { c: { apiKeys: [{ sha256: 'a'.repeat(64) }], targets: { constructor: {} } } },
      }),
      'callers.c.targets.constructor',
      /no such target/,
    ],
    [
      'a signing key named like a built-in property',
      (doc) => ({
        ...doc,
        targets: { demo: { ...doc.targets.demo, assertion: { signingKey: 'toString' } } },
      }),
      'targets.demo.assertion.signingKey',
      /no signing key named "toString"/,
    ],
    [
      'an identity token JWKS fetched over plain http (anyone on the path could forge users)',
      (doc) => ({
        ...doc,
        callers: {
          c: {
            oauth: {
              clients: [{ clientId: 'ZCEE', secret: { sha256: 'a'.repeat(64) } }],
              identityTokens: { issuer: 'https://sysa', audience: 'gw', jwksUrl: 'http://sysa.example/jwks' },
            },
            targets: { demo: {} },
          },
        },
      }),
      'callers.c.oauth.identityTokens.jwksUrl',
      /use https/,
    ],
    [
      'an invalid target name',
      (doc) => ({ ...doc, targets: { 'bad name!': doc.targets.demo } }),
      'targets.bad name!',
      /letters, digits/,
    ],
  ];
  for (const [name, mutate, path, message] of cases) {
    it(`names the field for ${name}`, () => {
      // Act
      const issues = issuesOf(mutate(minimal()));

      // Assess
      expect(issues).toContainEqual({ path, message: expect.stringMatching(message) });
    });
  }

  it('allows a literal secret in development, with a warning that never shows the value', () => {
    // Prepare
    const doc = minimal();
    const document = {
      ...doc,
      environment: 'development',
      targets: {
        demo: {
          ...doc.targets.demo,
          clientAuthentication: { method: 'client_secret_post', secret: { value: 's3cret' } },
        },
      },
    };

    // Act
    const { warnings } = parseConfig(document);

    // Assess
    expect(warnings).toEqual([expect.stringContaining('targets.demo.clientAuthentication.secret')]);
    expect(warnings.join()).not.toContain('s3cret');
  });
});

describe('loadConfigFile', () => {
  it('reports a missing file as ERR_CONFIG_INVALID', async () => {
    await expect(loadConfigFile('/nonexistent/gateway.yaml')).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: expect.stringContaining('ENOENT'),
    });
  });

  it('reports the line of a YAML syntax error', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    const path = join(dir, 'broken.yaml');
    await writeFile(path, 'targets:\n  demo: [unclosed\n');

    // Act + Assess
    await expect(loadConfigFile(path)).rejects.toThrow(/not valid YAML or JSON at line \d/);
  });

  it('reports where and what the YAML problem is, never the text around it (it may hold a secret)', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    const path = join(dir, 'broken.yaml');
    const secret = 'Hunter2-literal-secret';
    await writeFile(
      path,
      `environment: development\ntargets:\n  demo:\n    clientAuthentication: { secret: { value: "${secret} }\n`,
    );

    // Act
    const error = (await loadConfigFile(path).catch((e: unknown) => e)) as ConfigError;

    // Assess
    expect(error.message).toMatch(/line 5, column 1: MISSING_CHAR \(.+\)/);
    const everything = JSON.stringify({
      message: error.message,
      ...describeError(error),
      issues: error.issues,
    });
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain('clientAuthentication');
  });

  it('fills env placeholders from the environment, and names the field of an unset one', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    const path = join(dir, 'gateway.yaml');
    const document = minimal();
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder syntax under test
    document.signingKeys.primary.keyId = '${env:SIGNING_KEY}';
    await writeFile(path, JSON.stringify(document));

    // Act
    const { config } = await loadConfigFile(path, { SIGNING_KEY: 'arn:aws:kms:eu-west-1:1:key/k' });
    const missing = await loadConfigFile(path, {}).catch((e: unknown) => e);

    // Assess
    expect(config.signingKeys.primary).toMatchObject({ keyId: 'arn:aws:kms:eu-west-1:1:key/k' });
    expect((missing as ConfigError).issues).toEqual([
      { path: 'signingKeys.primary.keyId', message: 'environment variable SIGNING_KEY is not set' },
    ]);
  });

  it('needs only the placeholders of the sections a function uses', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    const path = join(dir, 'gateway.yaml');
    const document = minimal() as ReturnType<typeof minimal> & { cache?: unknown };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder syntax under test
    document.signingKeys.primary.keyId = '${env:SIGNING_KEY}';
    const placeholder = (name: string) => ['$', '{env:', name, '}'].join('');
    document.cache = {
      dynamodb: {
        tableName: placeholder('TOKEN_TABLE'),
        encryption: { kmsKeyId: placeholder('CACHE_KEY_ID') },
      },
    };
    await writeFile(path, JSON.stringify(document));
    const options = { placeholdersRequiredUnder: ['signingKeys'] };

    // Act
    const { config } = await loadConfigFile(path, { SIGNING_KEY: 'arn:aws:kms:eu-west-1:1:key/k' }, options);
    const missing = await loadConfigFile(path, { TOKEN_TABLE: 't' }, options).catch((e: unknown) => e);
    const everything = await loadConfigFile(path, { SIGNING_KEY: 'k' }).catch((e: unknown) => e);

    // Assess
    expect(config.signingKeys.primary).toMatchObject({ keyId: 'arn:aws:kms:eu-west-1:1:key/k' });
    expect(config.cache.dynamodb).toMatchObject({ tableName: 'unset-TOKEN_TABLE' });
    expect((missing as ConfigError).issues).toEqual([
      { path: 'signingKeys.primary.keyId', message: 'environment variable SIGNING_KEY is not set' },
    ]);
    expect((everything as ConfigError).issues.map((issue) => issue.path)).toEqual([
      'cache.dynamodb.tableName',
      'cache.dynamodb.encryption.kmsKeyId',
    ]);
  });

  it('accepts JSON', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    const path = join(dir, 'gateway.json');
    await writeFile(path, JSON.stringify(minimal()));

    // Act
    const { config } = await loadConfigFile(path);

    // Assess
    expect(config.targets.demo?.clientId).toBe('gw');
  });
});

describe('configJsonSchema', () => {
  it('matches docs/config.schema.json (run npm run schema:config after changing the schema)', async () => {
    // Act
    const committed = JSON.parse(await readFile('docs/config.schema.json', 'utf8'));

    // Assess
    expect(committed).toEqual(configJsonSchema());
  });

  it('compiles under a default Ajv 2020 (no non-standard formats) and judges documents as zod does', async () => {
    // Prepare
    const committed = JSON.parse(await readFile('docs/config.schema.json', 'utf8'));
    const example = parseYaml(await readFile('examples/gateway.yaml', 'utf8'));
    const noPlaceholder = minimal();
    (noPlaceholder.targets.demo as Record<string, unknown>).subject = { template: 'fixed@corp.example' };
    const ftpEndpoint = minimal();
    ftpEndpoint.targets.demo.tokenEndpoint = 'ftp://as.example/token';

    // Act
    const validate = new Ajv2020().compile(committed);

    // Assess
    expect(validate(minimal())).toBe(true);
    expect(validate(example)).toBe(true);
    expect(validate(noPlaceholder)).toBe(false);
    expect(validate(ftpEndpoint)).toBe(false);
  });
});
