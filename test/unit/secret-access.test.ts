// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the ${env:NAME} placeholder syntax under test
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
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
        'arn:aws:secretsmanager:eu-central-1:111122223333:secret:jwt-bearer-gateway/callers/cics-AbCdEf',
        'jwt-bearer-gateway/certificates/${env:STAGE}-blue',
      );

      // Act
      const issues = secretAccessIssues(config);

      // Assess
      expect(issues).toEqual([]);
    });

    it('refuses a secret the token role may not read, and a certificate the jwks role may not read', () => {
      // Prepare: an API key outside the prefix; a certificate under the prefix but not under certificates/.
      const config = configWith('prod/cics-api-key', 'jwt-bearer-gateway/blue-certificate');

      // Act
      const issues = secretAccessIssues(config);

      // Assess
      expect(issues).toEqual([
        {
          path: 'signingKeys.blue.certificate.secretsManager.secretId',
          message:
            'the jwks and token functions may read only secrets named jwt-bearer-gateway/certificates/… (infra/iam.yml)',
        },
        {
          path: 'callers.cics.apiKeys[0].secretsManager.secretId',
          message: 'the token function may read only secrets named jwt-bearer-gateway/… (infra/iam.yml)',
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

    it('uses the prefix serverless.yml gives the roles', async () => {
      // Act
      const template = await readFile(join(ROOT, 'serverless.yml'), 'utf8');

      // Assess
      expect(/^ {2}secretPrefix: (\S+)$/m.exec(template)?.[1]).toBe(SECRET_PREFIX);
    });
  });
});
