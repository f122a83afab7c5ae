// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} placeholders are the subject here, not templates.
import { describe, expect, it } from 'vitest';
import { expandEnvPlaceholders } from '#lib/config/env-placeholders.ts';

const env = {
  TOKEN_TABLE: 'gw-prod-tokens',
  KEY_ARN: 'arn:aws:kms:eu-central-1:123456789012:key/abc',
  REGION: 'eu-central-1',
};

describe('expandEnvPlaceholders', () => {
  it('replaces whole and embedded placeholders in string values, at any depth', () => {
    const { document, issues, expandedPaths } = expandEnvPlaceholders(
      {
        signingKeys: { primary: { type: 'kms', keyId: '${env:KEY_ARN}' } },
        cache: { dynamodb: { tableName: '${env:TOKEN_TABLE}' } },
        targets: { t: { parameters: { resource: 'https://api.${env:REGION}.example/${env:TOKEN_TABLE}' } } },
        callers: { c: { apiKeys: [{ sha256: 'ab' }, { env: '${env:REGION}' }] } },
      },
      env,
    );
    expect(issues).toEqual([]);
    expect(document).toEqual({
      signingKeys: { primary: { type: 'kms', keyId: env.KEY_ARN } },
      cache: { dynamodb: { tableName: 'gw-prod-tokens' } },
      targets: { t: { parameters: { resource: 'https://api.eu-central-1.example/gw-prod-tokens' } } },
      callers: { c: { apiKeys: [{ sha256: 'ab' }, { env: 'eu-central-1' }] } },
    });
    expect(expandedPaths).toEqual([
      'signingKeys.primary.keyId',
      'cache.dynamodb.tableName',
      'targets.t.parameters.resource',
      'callers.c.apiKeys[1].env',
    ]);
  });

  it('leaves keys, numbers, booleans, nulls and other strings alone', () => {
    const input = {
      '${env:REGION}': 1,
      flag: true,
      none: null,
      template: '{subject}@corp.example',
      dollars: '$HOME ${HOME} $env:X',
    };
    const { document, issues, expandedPaths } = expandEnvPlaceholders(input, env);
    expect(document).toEqual(input);
    expect(issues).toEqual([]);
    expect(expandedPaths).toEqual([]);
  });

  it('does not change the document it was given', () => {
    const input = { cache: { dynamodb: { tableName: '${env:TOKEN_TABLE}' } } };
    expandEnvPlaceholders(input, env);
    expect(input.cache.dynamodb.tableName).toBe('${env:TOKEN_TABLE}');
  });

  it('reports every unset or empty variable at its field', () => {
    const { issues } = expandEnvPlaceholders(
      { signingKeys: { a: { keyId: '${env:MISSING}' } }, list: ['x', '${env:EMPTY}-${env:TOKEN_TABLE}'] },
      { ...env, EMPTY: '' },
    );
    expect(issues).toEqual([
      { path: 'signingKeys.a.keyId', message: 'environment variable MISSING is not set' },
      { path: 'list[1]', message: 'environment variable EMPTY is not set' },
    ]);
  });

  it('reports a malformed placeholder rather than passing it on', () => {
    const { issues } = expandEnvPlaceholders(
      { a: '${env:}', b: '${env:NOT-A-NAME}', c: '${env:REGION' },
      env,
    );
    expect(issues.map((issue) => issue.path)).toEqual(['a', 'b', 'c']);
    for (const issue of issues) expect(issue.message).toBe('malformed placeholder: expected ${env:NAME}');
  });
});
