import { describe, expect, it } from 'vitest';
import { parseConfig } from '#lib/config/load-config.ts';
import type { GatewayConfigInput } from '#lib/config/schema.ts';
import { basicCredentials } from '#lib/http/caller-credentials.ts';
import { apiKeyHash, CallerPolicy } from '#lib/policy/caller-policy.ts';
import { SecretResolver } from '#lib/secrets/resolve-secret.ts';

const target = {
  tokenEndpoint: 'https://as.example/token',
  clientId: 'gw',
  clientAuthentication: { method: 'none' as const },
};

function config(
  callers: GatewayConfigInput['callers'],
  targets: GatewayConfigInput['targets'] = { demo: target },
) {
  return parseConfig({ signingKeys: { k: { type: 'kms', keyId: 'alias/k' } }, targets, callers }).config;
}

function policy(
  callers: GatewayConfigInput['callers'],
  env: NodeJS.ProcessEnv = {},
  targets?: GatewayConfigInput['targets'],
) {
  return new CallerPolicy(config(callers, targets), new SecretResolver({ env }));
}

const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

describe('basicCredentials', () => {
  describe('decodes RFC 6749 2.3.1 client credentials', () => {
    it('form-decodes id and secret, and keeps the raw reading when decoding changed them', () => {
      // Act
      const credentials = basicCredentials(basic('ZCEE%2B01:s%3Acret+x'));

      // Assess
      expect(credentials).toEqual({
        id: 'ZCEE+01',
        secret: 's:cret x',
        raw: { id: 'ZCEE%2B01', secret: 's%3Acret+x' },
      });
    });

    it('splits at the first colon and keeps an undecodable value as sent', () => {
      // Act
      const credentials = basicCredentials(basic('ZCEE01:a:b%zz'));

      // Assess
      expect(credentials).toEqual({ id: 'ZCEE01', secret: 'a:b%zz' });
    });

    it('makes malformed Basic credentials identify nobody, and ignores other schemes', () => {
      // Act + Assess
      expect(basicCredentials('Basic !!!')).toEqual({ id: '', secret: '' });
      expect(basicCredentials(basic('no-colon'))).toEqual({ id: '', secret: '' });
      expect(basicCredentials('basic')).toEqual({ id: '', secret: '' });
      expect(
        basicCredentials('AWS4-HMAC-SHA256 Credential=AKIA/20260101/eu-west-1/execute-api'),
      ).toBeUndefined();
      expect(basicCredentials('Bearer abc')).toBeUndefined();
      expect(basicCredentials(undefined)).toBeUndefined();
    });
  });
});

describe('CallerPolicy', () => {
  const zos = {
    oauth: { clients: [{ clientId: 'ZCEE01', secret: { sha256: apiKeyHash('zcee-secret') } }] },
    targets: { demo: {} },
  };

  describe('identify with OAuth client credentials', () => {
    it('finds the caller whose client id and secret hash match', async () => {
      // Prepare
      const rules = policy({ zos, other: { apiKeys: [{ sha256: apiKeyHash('k') }], targets: { demo: {} } } });

      // Act
      const caller = await rules.identify({ oauthClient: { id: 'ZCEE01', secret: 'zcee-secret' } });

      // Assess
      expect(caller).toEqual({ id: 'zos', via: 'oauth_client' });
    });

    it('accepts the raw reading of credentials a client did not form-encode', async () => {
      // Prepare: the secret really contains "%41"; decoding would turn it into "A".
      const rules = policy({
        zos: {
          ...zos,
          oauth: { clients: [{ clientId: 'ZCEE01', secret: { sha256: apiKeyHash('p%41ss') } }] },
        },
      });

      // Act
      const caller = await rules.identify(
        basicCredentials(basic('ZCEE01:p%41ss'))
          ? { oauthClient: basicCredentials(basic('ZCEE01:p%41ss')) }
          : {},
      );

      // Assess
      expect(caller.id).toBe('zos');
    });

    it('refuses a wrong secret, an unknown id, and one client id with another client secret', async () => {
      // Prepare
      const rules = policy({
        zos,
        zos2: {
          oauth: { clients: [{ clientId: 'ZCEE02', secret: { sha256: apiKeyHash('other') } }] },
          targets: { demo: {} },
        },
      });
      const refused = { code: 'ERR_CALLER_UNAUTHENTICATED' };

      // Act + Assess
      await expect(rules.identify({ oauthClient: { id: 'ZCEE01', secret: 'wrong' } })).rejects.toMatchObject(
        refused,
      );
      await expect(
        rules.identify({ oauthClient: { id: 'NOBODY', secret: 'zcee-secret' } }),
      ).rejects.toMatchObject(refused);
      await expect(rules.identify({ oauthClient: { id: 'ZCEE01', secret: 'other' } })).rejects.toMatchObject(
        refused,
      );
    });

    it('reads a client secret hash held in a secret', async () => {
      // Prepare
      const rules = policy(
        {
          zos: {
            oauth: { clients: [{ clientId: 'ZCEE01', secret: { env: 'ZCEE01_HASH' } }] },
            targets: { demo: {} },
          },
        },
        { ZCEE01_HASH: apiKeyHash('zcee-secret') },
      );

      // Act + Assess
      await expect(
        rules.identify({ oauthClient: { id: 'ZCEE01', secret: 'zcee-secret' } }),
      ).resolves.toMatchObject({
        id: 'zos',
      });
    });

    it('refuses credentials that identify different callers (an API key of one, a client of another)', async () => {
      // Prepare
      const rules = policy({ zos, other: { apiKeys: [{ sha256: apiKeyHash('k') }], targets: { demo: {} } } });

      // Act + Assess
      await expect(
        rules.identify({ apiKey: 'k', oauthClient: { id: 'ZCEE01', secret: 'zcee-secret' } }),
      ).rejects.toMatchObject({ code: 'ERR_CALLER_UNAUTHENTICATED' });
    });

    it('ignores Basic credentials when no caller has OAuth clients (a Lambda authorizer may use them)', async () => {
      // Prepare
      const rules = policy({ bridge: { authorizerPrincipals: ['bridge'], targets: { demo: {} } } });

      // Act + Assess
      await expect(
        rules.identify({ authorizerPrincipal: 'bridge', oauthClient: { id: 'user', secret: 'password' } }),
      ).resolves.toEqual({ id: 'bridge', via: 'authorizer' });
    });
  });

  describe('authorize an application token (no subject)', () => {
    const targets = {
      demo: target,
      app: { ...target, grant: 'client_credentials' as const },
    };

    it('only for a caller with oauth.applicationTokens, on a target whose grant acts for no user', () => {
      // Prepare
      const rules = policy(
        {
          apps: { ...zos, oauth: { ...zos.oauth, applicationTokens: true }, targets: { demo: {}, app: {} } },
          users: {
            oauth: { clients: [{ clientId: 'U1', secret: { sha256: apiKeyHash('u') } }] },
            targets: { app: {} },
          },
        },
        {},
        targets,
      );
      const apps = { id: 'apps', via: 'oauth_client' } as const;
      const users = { id: 'users', via: 'oauth_client' } as const;

      // Act + Assess
      expect(() => rules.authorize(apps, { target: 'app', subject: '' })).not.toThrow();
      expect(() => rules.authorize(apps, { target: 'demo', subject: '' })).toThrow(
        expect.objectContaining({ code: 'ERR_ACCESS_DENIED', rule: 'subject' }),
      );
      expect(() => rules.authorize(users, { target: 'app', subject: '' })).toThrow(
        expect.objectContaining({ code: 'ERR_ACCESS_DENIED', rule: 'subject' }),
      );
    });
  });
});

describe('callers.oauth configuration', () => {
  it('accepts a caller identified by OAuth clients only', () => {
    // Act + Assess
    expect(() =>
      config({
        zos: {
          oauth: { clients: [{ clientId: 'Z', secret: { sha256: apiKeyHash('s') } }] },
          targets: { demo: {} },
        },
      }),
    ).not.toThrow();
  });

  it('refuses one client id for two callers', () => {
    // Prepare
    const client = { clientId: 'ZCEE01', secret: { sha256: apiKeyHash('s') } };

    // Act + Assess
    expect(() =>
      config({
        a: { oauth: { clients: [client] }, targets: { demo: {} } },
        b: { oauth: { clients: [client] }, targets: { demo: {} } },
      }),
    ).toThrow(/callers\.b\.oauth\.clients\[0\]\.clientId: client id already used by caller "a"/);
  });

  it.each([
    ['ZDA', 'ZD%41'],
    ['ZD%41', 'ZDA'],
    ['a b', 'a+b'],
    ['a+b', 'a%20b'],
    ['x%2541', 'x%41'],
  ])('refuses client ids %s and %s for two callers: one reads as the other once form-decoded', (a, b) => {
    // Prepare: Basic credentials are matched as sent and form-decoded, so one header could name both.
    const client = (clientId: string) => ({ clientId, secret: { sha256: apiKeyHash('s') } });

    // Act + Assess
    expect(() =>
      config({
        a: { oauth: { clients: [client(a)] }, targets: { demo: {} } },
        b: { oauth: { clients: [client(b)] }, targets: { demo: {} } },
      }),
    ).toThrow(
      /callers\.b\.oauth\.clients\[0\]\.clientId: client id already used by caller "a" \(once form-decoded\)/,
    );
  });

  it('accepts both encodings of one client id for the same caller', () => {
    // Prepare
    const client = (clientId: string) => ({ clientId, secret: { sha256: apiKeyHash('s') } });

    // Act + Assess
    expect(() =>
      config({ a: { oauth: { clients: [client('ZDA'), client('ZD%41')] }, targets: { demo: {} } } }),
    ).not.toThrow();
  });

  it('refuses an identity token issuer with both or neither of jwksUrl and certificate', () => {
    // Prepare
    const trust = { issuer: 'https://sysa', audience: 'gw' };
    const caller = (identityTokens: Record<string, unknown>) => ({
      z: {
        oauth: { clients: [{ clientId: 'Z', secret: { sha256: apiKeyHash('s') } }], identityTokens },
        targets: { demo: {} },
      },
    });

    // Act + Assess
    expect(() => config(caller(trust) as never)).toThrow(/set exactly one of jwksUrl, certificate/);
    expect(() =>
      config(caller({ ...trust, jwksUrl: 'https://sysa/jwk', certificate: { env: 'PEM' } }) as never),
    ).toThrow(/set exactly one of jwksUrl, certificate/);
    expect(() => config(caller({ ...trust, jwksUrl: 'https://sysa/jwk' }) as never)).not.toThrow();
  });
});
