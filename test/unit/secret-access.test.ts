// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the ${env:NAME} placeholder syntax under test
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '#lib/config/load-config.ts';
import { checkDeployConfig, ROOT } from '../../scripts/build.ts';
import { SECRET_PREFIX, secretAccessIssues } from '../../scripts/secret-access.ts';

const configWith = (apiKeySecretId: string, certificateSecretId: string) =>
  parseConfig({
    signingKeys: {
      blue: {
        type: 'kms',
        keyId: 'alias/k',
        certificate: { secretsManager: { secretId: certificateSecretId } },
      },
    },
    targets: {
      t: {
        tokenEndpoint: 'https://as.example/token',
        clientId: 'c',
        clientAuthentication: { method: 'none' },
      },
    },
    callers: {
      cics: { apiKeys: [{ secretsManager: { secretId: apiKeySecretId } }], targets: { t: {} } },
    },
  }).config;

describe('secret access (npm run build)', () => {
  describe('secretAccessIssues', () => {
    it('accepts the names, ARNs and placeholders the functions’ roles may read', () => {
      // Prepare
      const config = configWith(
        'arn:aws:secretsmanager:eu-central-1:111122223333:secret:jwt-bearer-gateway/${env:GATEWAY_STAGE}/callers/cics-AbCdEf',
        'jwt-bearer-gateway/${env:GATEWAY_STAGE}/certificates/blue',
      );

      // Act
      const issues = secretAccessIssues(config);

      // Assess
      expect(issues).toEqual([]);
    });

    it('refuses a secret the token role may not read, and a certificate the jwks role may not read', () => {
      // Prepare: an API key outside the prefix; a certificate under the prefix but not under certificates/.
      const config = configWith(
        'prod/cics-api-key',
        'jwt-bearer-gateway/${env:GATEWAY_STAGE}/blue-certificate',
      );

      // Act
      const issues = secretAccessIssues(config);

      // Assess
      expect(issues).toEqual([
        {
          path: 'signingKeys.blue.certificate.secretsManager.secretId',
          message:
            'the jwks and token functions may read only secrets named jwt-bearer-gateway/${env:GATEWAY_STAGE}/certificates/… (infra/iam.yml: each stage its own)',
        },
        {
          path: 'callers.cics.apiKeys[0].secretsManager.secretId',
          message:
            'the token function may read only secrets named jwt-bearer-gateway/${env:GATEWAY_STAGE}/… (infra/iam.yml: each stage its own)',
        },
      ]);
    });

    it('is part of the build’s configuration check (npm run build, gw check-config)', async () => {
      // Prepare
      const path = join(await mkdtemp(join(tmpdir(), 'secret-access-')), 'gateway.yaml');
      await writeFile(
        path,
        [
          'signingKeys: { blue: { type: kms, keyId: alias/k } }',
          'targets: { t: { tokenEndpoint: https://as.example/token, clientId: c, clientAuthentication: { method: none } } }',
          'callers: { cics: { apiKeys: [{ secretsManager: { secretId: prod/cics } }], targets: { t: {} } } }',
        ].join('\n'),
      );

      // Act
      const refusal = await checkDeployConfig(path).catch((error: unknown) => error);

      // Assess
      expect(refusal).toBeInstanceOf(ConfigError);
      expect((refusal as ConfigError).issues.map((issue) => issue.path)).toEqual([
        'callers.cics.apiKeys[0].secretsManager.secretId',
      ]);
    });

    it('refuses the stage-less names every stage could read, and a literal stage the build cannot check', () => {
      // Prepare: the names this project used before the stage was part of the prefix.
      const config = configWith(
        'jwt-bearer-gateway/callers/cics',
        'jwt-bearer-gateway/prod/certificates/blue',
      );

      // Act
      const issues = secretAccessIssues(config);

      // Assess
      expect(issues.map((issue) => issue.path)).toEqual([
        'signingKeys.blue.certificate.secretsManager.secretId',
        'callers.cics.apiKeys[0].secretsManager.secretId',
      ]);
    });

    it('uses the prefix serverless.yml gives the roles, its stage as the variable it sets', async () => {
      // Act
      const template = await readFile(join(ROOT, 'serverless.yml'), 'utf8');

      // Assess
      const prefix = /^ {2}secretPrefix: (\S+)$/m.exec(template)?.[1];
      expect(prefix?.replace('${sls:stage}', '${env:GATEWAY_STAGE}')).toBe(SECRET_PREFIX);
      expect(template).toMatch(/^ {4}GATEWAY_STAGE: \$\{sls:stage\}$/m);
    });
  });

  describe('the names the docs, examples and configuration show', () => {
    /** Every secretId written in README.md, docs/, examples/ and config/, with the line it is on. */
    async function shownSecretIds(): Promise<{ file: string; id: string; line: string }[]> {
      const files = [
        'README.md',
        ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
        ...(await readdir(join(ROOT, 'examples'))).map((f) => `examples/${f}`),
        ...(await readdir(join(ROOT, 'config'))).map((f) => `config/${f}`),
      ];
      const shown: { file: string; id: string; line: string }[] = [];
      for (const file of files) {
        for (const line of (await readFile(join(ROOT, file), 'utf8')).split('\n')) {
          for (const match of line.matchAll(/secretId:\s*(?:"([^"]+)"|([^\s,}]+))/g))
            shown.push({ file, id: (match[1] ?? match[2])!, line });
        }
      }
      return shown;
    }

    it('are all names the build accepts (certificates under certificates/)', async () => {
      // Prepare
      const shown = await shownSecretIds();

      // Act
      // The signing keys' certificates are the ones named under certificates/ (the jwks role's narrower
      // prefix); every other secret is the token function's (an identity token issuer's certificate too).
      const refused = shown.filter(({ id }) => {
        const config = id.includes('/certificates/')
          ? configWith(`${SECRET_PREFIX}k`, id)
          : configWith(id, `${SECRET_PREFIX}certificates/c`);
        return secretAccessIssues(config).length > 0;
      });

      // Assess
      expect(shown.length).toBeGreaterThan(8);
      expect(refused).toEqual([]);
    });

    it.each(['config/gateway.yaml', 'examples/gateway.yaml'])(
      '%s passes the build’s configuration check',
      async (file) => {
        await expect(checkDeployConfig(join(ROOT, file))).resolves.not.toThrow();
      },
    );
  });
});
