// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the ${env:NAME} placeholder syntax under test
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileConfig } from '#lib/config/compile-config.ts';
import { readCompiledConfig } from '#lib/config/compiled-config.ts';
import { readConfigFile } from '#lib/config/config-file.ts';
import { parseConfig } from '#lib/config/load-config.ts';
import { configIssues } from './config-issues.ts';

/** The shape of config/gateway.yaml: KMS keys and the cache table from the deployment's variables. */
const deployed = () => ({
  signingKeys: { blue: { type: 'kms', keyId: '${env:SIGNING_KEY_BLUE_ID}' } },
  targets: {
    demo: {
      tokenEndpoint: 'https://as.example/token',
      clientId: 'gw',
      clientAuthentication: { method: 'private_key_jwt', audience: 'token_endpoint' },
    },
  },
  callers: {
    cics: {
      apiKeys: [{ secretsManager: { secretId: 'jwt-bearer-gateway/${env:STAGE}/cics' } }],
      targets: { demo: {} },
    },
  },
  cache: { dynamodb: { tableName: '${env:TOKEN_TABLE}', encryption: { kmsKeyId: '${env:CACHE_KEY_ID}' } } },
});

const ENV = {
  SIGNING_KEY_BLUE_ID: 'arn:aws:kms:eu-central-1:111122223333:key/blue',
  STAGE: 'prod',
  TOKEN_TABLE: 'jwt-bearer-gateway-tokens',
  CACHE_KEY_ID: 'arn:aws:kms:eu-central-1:111122223333:key/cache',
};

/** Two callers whose facade client ids come from the deployment's variables CICS_CLIENT and BATCH_CLIENT. */
function withFacadeClientsFromEnv() {
  const document = deployed() as ReturnType<typeof deployed> & Record<string, never>;
  const callers = document.callers as Record<string, unknown>;
  callers.cics = {
    ...document.callers.cics,
    oauth: { clients: [{ clientId: '${env:CICS_CLIENT}', secret: { sha256: 'a'.repeat(64) } }] },
  };
  callers.batch = {
    oauth: { clients: [{ clientId: '${env:BATCH_CLIENT}', secret: { sha256: 'b'.repeat(64) } }] },
    targets: { demo: {} },
  };
  return { document, callers };
}

describe('compiled configuration', () => {
  describe('compileConfig', () => {
    it('validates at build time and ships the output with its placeholders and their fields’ rules', () => {
      // Act
      const compiled = compileConfig(deployed(), 'config/gateway.yaml');

      // Assess
      expect(compiled.source).toBe('config/gateway.yaml');
      // Defaults applied by the schema, placeholders kept as written.
      expect(compiled.config.cache.maxEntries).toBe(10_000);
      expect(compiled.config.signingKeys.blue).toMatchObject({
        keyId: '${env:SIGNING_KEY_BLUE_ID}',
        retired: false,
      });
      expect(compiled.placeholders).toContainEqual({
        path: ['cache', 'dynamodb', 'tableName'],
        rules: { minLength: 3, maxLength: 255 },
      });
      expect(compiled.placeholders.map(({ path }) => path.join('.'))).toEqual([
        'signingKeys.blue.keyId',
        'callers.cics.apiKeys.0.secretsManager.secretId',
        'cache.dynamodb.tableName',
        'cache.dynamodb.encryption.kmsKeyId',
      ]);
      // The Lambda reads JSON: nothing in it may need more than JSON.parse.
      expect(JSON.parse(JSON.stringify(compiled))).toEqual(compiled);
    });

    it('reports the mistakes of the configuration itself, as the loader would', () => {
      // Prepare
      const document = { ...deployed(), environment: 'staging' };

      // Act
      const issues = configIssues(() => compileConfig(document));

      // Assess
      expect(issues).toEqual([
        { path: 'environment', message: expect.stringMatching(/^Invalid option: expected one of/) },
      ]);
    });

    it('refuses a placeholder in a field a cold start could not check alone', () => {
      // Prepare: a URL, a number, and a name other fields refer to.
      const document = deployed() as ReturnType<typeof deployed> & Record<string, unknown>;
      document.targets.demo.tokenEndpoint = 'https://${env:AS_HOST}/token';
      document.targets.demo.clientAuthentication = {
        method: 'private_key_jwt',
        audience: 'token_endpoint',
        signingKey: '${env:KEY_NAME}',
      } as typeof document.targets.demo.clientAuthentication;

      // Act
      const issues = configIssues(() => compileConfig(document));

      // Assess
      expect(issues).toEqual([
        {
          path: 'targets.demo.tokenEndpoint',
          message: 'a ${env:NAME} placeholder cannot stand here: the field is a url, not a plain string',
        },
      ]);
      document.targets.demo.tokenEndpoint = 'https://as.example/token';
      expect(configIssues(() => compileConfig(document))).toEqual([
        {
          path: 'targets.demo.clientAuthentication.signingKey',
          message: expect.stringMatching(
            /^a \$\{env:NAME\} placeholder cannot stand here: the value is checked against the rest of the configuration \(no signing key named "placeholder_KEY_NAME"\)$/,
          ),
        },
      ]);
    });
  });

  describe('readCompiledConfig', () => {
    it('fills the placeholders into the configuration the full loader would have produced', () => {
      // Prepare
      const compiled = compileConfig(deployed());
      const filled = JSON.parse(
        JSON.stringify(deployed()).replace(/\$\{env:(\w+)\}/g, (_, name: keyof typeof ENV) => ENV[name]),
      );

      // Act
      const { config } = readCompiledConfig(compiled, ENV, 'gateway.json');

      // Assess
      expect(config).toEqual(parseConfig(filled).config);
    });

    it('names the field of an unset variable', () => {
      // Prepare
      const compiled = compileConfig(deployed());
      const { TOKEN_TABLE: _, ...env } = ENV;

      // Act
      const issues = configIssues(() => readCompiledConfig(compiled, env, 'gateway.json'));

      // Assess
      expect(issues).toEqual([
        { path: 'cache.dynamodb.tableName', message: 'environment variable TOKEN_TABLE is not set' },
      ]);
    });

    it('checks each filled value against its field’s rules, with the schema’s messages', () => {
      // Prepare: a table name too short, and a caller target name that is not an identifier.
      const document = deployed();
      const compiled = compileConfig(document);
      const fromSchema = configIssues(() =>
        parseConfig({
          ...document,
          cache: { dynamodb: { ...document.cache.dynamodb, tableName: 'ab', encryption: { kmsKeyId: 'k' } } },
        }),
      );

      // Act
      const issues = configIssues(() =>
        readCompiledConfig(compiled, { ...ENV, TOKEN_TABLE: 'ab' }, 'gateway.json'),
      );

      // Assess
      expect(issues).toEqual(fromSchema.filter((issue) => issue.path === 'cache.dynamodb.tableName'));
      expect(issues).toEqual([
        { path: 'cache.dynamodb.tableName', message: 'Too small: expected string to have >=3 characters' },
      ]);
    });

    it('checks a pattern rule with the schema’s own message', () => {
      // Prepare: the assertion issuer allows any string, a caller's API key environment variable does not.
      const document = deployed();
      document.callers.cics.apiKeys = [{ env: '${env:KEY_VARIABLE}' } as never];
      const compiled = compileConfig(document);

      // Act
      const issues = configIssues(() =>
        readCompiledConfig(compiled, { ...ENV, KEY_VARIABLE: 'NOT-A-NAME' }, 'gateway.json'),
      );

      // Assess
      expect(issues).toEqual([
        { path: 'callers.cics.apiKeys[0].env', message: 'expected an environment variable name' },
      ]);
    });

    it('repeats the rules that read filled values together: a client id twice, a raw Basic client id with ":"', () => {
      // Prepare: two callers' facade client ids and a target's client id from the deployment's variables,
      // which the build checked only with distinct stand-ins without ":".
      const { document, callers } = withFacadeClientsFromEnv();
      const target = document.targets.demo as Record<string, unknown>;
      target.clientId = '${env:TARGET_CLIENT}';
      target.clientAuthentication = {
        method: 'client_secret_basic',
        encoding: 'raw',
        secret: { env: 'TARGET_SECRET' },
      };
      const compiled = compileConfig(document);
      const filled = { CICS_CLIENT: 'zos', BATCH_CLIENT: 'zos', TARGET_CLIENT: 'gw:prod' };
      const fromSchema = configIssues(() =>
        parseConfig({
          ...document,
          targets: { demo: { ...target, clientId: 'gw:prod' } },
          callers: {
            cics: {
              ...(callers.cics as object),
              oauth: { clients: [{ clientId: 'zos', secret: { sha256: 'a'.repeat(64) } }] },
            },
            batch: {
              ...(callers.batch as object),
              oauth: { clients: [{ clientId: 'zos', secret: { sha256: 'b'.repeat(64) } }] },
            },
          },
        }),
      );

      // Act
      const issues = configIssues(() => readCompiledConfig(compiled, { ...ENV, ...filled }, 'gateway.json'));

      // Assess: what the schema says of the same values, and nothing else.
      expect(issues).toEqual(fromSchema);
      expect(issues).toEqual([
        {
          path: 'targets.demo.clientId',
          message: 'a client id with ":" cannot be sent raw in Basic (RFC 7617): use encoding form',
        },
        {
          path: 'callers.batch.oauth.clients[0].clientId',
          message: 'client id already used by caller "cics"',
        },
      ]);
    });
    it('refuses at cold start filled client ids that are one once form-decoded (ZDA, ZD%41)', () => {
      // Prepare
      const { document } = withFacadeClientsFromEnv();
      const compiled = compileConfig(document);

      // Act
      const issues = configIssues(() =>
        readCompiledConfig(compiled, { ...ENV, CICS_CLIENT: 'ZDA', BATCH_CLIENT: 'ZD%41' }, 'gateway.json'),
      );

      // Assess
      expect(issues).toEqual([
        {
          path: 'callers.batch.oauth.clients[0].clientId',
          message: 'client id already used by caller "cics" (once form-decoded)',
        },
      ]);
    });
  });

  describe('readConfigFile', () => {
    it('reads the compiled JSON', async () => {
      // Prepare
      const dir = await mkdtemp(join(tmpdir(), 'compiled-'));
      const path = join(dir, 'gateway.json');
      await writeFile(path, JSON.stringify(compileConfig(deployed())));

      // Act
      const { config } = await readConfigFile(path, ENV);

      // Assess
      expect(config.cache.dynamodb?.tableName).toBe('jwt-bearer-gateway-tokens');
    });

    it('refuses a configuration as written, saying how to compile it', async () => {
      // Prepare
      const dir = await mkdtemp(join(tmpdir(), 'compiled-'));
      const yaml = join(dir, 'gateway.yaml');
      const json = join(dir, 'plain.json');
      await writeFile(yaml, 'environment: production\n');
      await writeFile(json, JSON.stringify(deployed()));

      // Act + Assess
      for (const path of [yaml, json]) {
        await expect(readConfigFile(path, ENV)).rejects.toThrow(
          /not a compiled configuration: .*npm run build/,
        );
      }
      await expect(readConfigFile(join(dir, 'missing.json'), ENV)).rejects.toThrow(
        /cannot read the file \(ENOENT\)/,
      );
    });
  });
});
