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
});
