import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseConfig } from '#lib/config/load-config.ts';
import type { callerOAuthSettings, GatewayConfigInput } from '#lib/config/schema.ts';
import { GatewayError } from '#lib/errors.ts';
import {
  apiKeyHash,
  type Caller,
  type CallerCredentials,
  CallerPolicy,
  PolicyRefusal,
  type PolicyRule,
  splitScope,
} from '#lib/policy/caller-policy.ts';
import { SecretResolver } from '#lib/secrets/resolve-secret.ts';
import type { TokenRequest } from '#lib/token-request.ts';

// The decisions docs/API.md and docs/CONFIGURATION.md specify for callers: who a request comes from
// (401 unauthenticated, 503 while a key cannot be read) and what it may ask for (403 access_denied,
// naming the allow-list that refused). caller-policy.test.ts covers subject patterns and key rotation.

const target = {
  tokenEndpoint: 'https://as.example/token',
  clientId: 'gw',
  clientAuthentication: { method: 'none' as const },
};

interface Options {
  env?: NodeJS.ProcessEnv;
  targets?: GatewayConfigInput['targets'];
  errors?: Array<[string, unknown]>;
  secretsManager?: (secretId: string) => Promise<string>;
}

function policy(callers: GatewayConfigInput['callers'], options: Options = {}): CallerPolicy {
  const { config } = parseConfig({
    signingKeys: { k: { type: 'kms', keyId: 'alias/k' } },
    targets: options.targets ?? { demo: target },
    callers,
  });
  // The readiness probe's `check` is never called by the caller policy: it reads through `get`.
  const secretsManager = options.secretsManager && {
    get: options.secretsManager,
    check: () => Promise.reject(new Error('the caller policy never calls check')),
  };
  return new CallerPolicy(config, new SecretResolver({ env: options.env ?? {}, secretsManager }), {
    onApiKeyError: (caller, error) => options.errors?.push([caller, error]),
  });
}

/** The GatewayError `promise` rejects with; it must have `code`, and a message matching `reason`. */
async function rejection(promise: Promise<unknown>, code: string, reason?: RegExp): Promise<GatewayError> {
  const error = await promise.then(
    () => expect.unreachable(`expected a rejection with ${code}`),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(GatewayError);
  expect((error as GatewayError).code).toBe(code);
  if (reason) expect((error as GatewayError).message).toMatch(reason);
  return error as GatewayError;
}

/** The PolicyRefusal `act` throws: ERR_ACCESS_DENIED naming `rule`, with a message matching `reason`. */
function refusal(act: () => unknown, rule: PolicyRule, reason: RegExp): void {
  let thrown: unknown;
  try {
    act();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a refusal').toBeInstanceOf(PolicyRefusal);
  expect(thrown).toMatchObject({ code: 'ERR_ACCESS_DENIED', rule, name: 'PolicyRefusal' });
  expect((thrown as Error).message).toMatch(reason);
}

const unavailable = () =>
  Promise.reject(new GatewayError('ERR_SECRET_UNAVAILABLE', 'Secrets Manager is down'));

describe('CallerPolicy', () => {
  describe('identify', () => {
    const callers: GatewayConfigInput['callers'] = {
      mainframe: {
        apiKeys: [{ sha256: apiKeyHash('mainframe-key') }],
        mtlsSubjects: ['CN=mainframe,O=Corp'],
        iamPrincipals: ['arn:aws:iam::111111111111:role/batch', 'arn:aws:iam::111111111111:role/mainframe'],
        authorizerPrincipals: ['mainframe-principal'],
        targets: { demo: {} },
      },
      partner: {
        apiKeys: [{ sha256: apiKeyHash('partner-key') }],
        mtlsSubjects: ['CN=partner,O=Corp'],
        iamPrincipals: ['arn:aws:sts::222222222222:assumed-role/partner/*'],
        authorizerPrincipals: ['partner-principal'],
        targets: { demo: {} },
      },
    };

    it.each<[string, CallerCredentials, Caller]>([
      ['an API key', { apiKey: 'partner-key' }, { id: 'partner', via: 'api_key' }],
      ['a client certificate subject', { mtlsSubject: 'CN=partner,O=Corp' }, { id: 'partner', via: 'mtls' }],
      [
        'an IAM principal',
        { iamPrincipal: 'arn:aws:iam::111111111111:role/mainframe' },
        { id: 'mainframe', via: 'iam' },
      ],
      [
        'an IAM principal under a pattern ending in *',
        { iamPrincipal: 'arn:aws:sts::222222222222:assumed-role/partner/session-1' },
        { id: 'partner', via: 'iam' },
      ],
      [
        'a Lambda authorizer principal',
        { authorizerPrincipal: 'partner-principal' },
        { id: 'partner', via: 'authorizer' },
      ],
    ])('identifies a caller by %s', async (_name, credentials, caller) => {
      await expect(policy(callers).identify(credentials)).resolves.toEqual(caller);
    });

    it('reports the API key when several credentials identify the same caller', async () => {
      // Act
      const caller = await policy(callers).identify({
        apiKey: 'mainframe-key',
        mtlsSubject: 'CN=mainframe,O=Corp',
        authorizerPrincipal: 'mainframe-principal',
      });

      // Assess
      expect(caller).toEqual({ id: 'mainframe', via: 'api_key' });
    });

    it('refuses a request with no credential it knows', async () => {
      for (const credentials of [
        {},
        { mtlsSubject: 'CN=stranger' },
        { iamPrincipal: 'arn:aws:iam::111111111111:role/mainframe-admin' },
        { iamPrincipal: 'arn:aws:sts::222222222222:assumed-role/partner' },
        { authorizerPrincipal: 'MAINFRAME-PRINCIPAL' },
      ] satisfies CallerCredentials[]) {
        await rejection(
          policy(callers).identify(credentials),
          'ERR_CALLER_UNAUTHENTICATED',
          /^no credential identifies a known caller$/,
        );
      }
    });

    it('refuses a wrong API key even when another credential identifies a caller', async () => {
      await rejection(
        policy(callers).identify({ apiKey: 'wrong', mtlsSubject: 'CN=mainframe,O=Corp' }),
        'ERR_CALLER_UNAUTHENTICATED',
        /^the API key is not valid$/,
      );
    });

    it('refuses credentials that identify different callers', async () => {
      for (const credentials of [
        { apiKey: 'mainframe-key', mtlsSubject: 'CN=partner,O=Corp' },
        { mtlsSubject: 'CN=mainframe,O=Corp', authorizerPrincipal: 'partner-principal' },
        {
          iamPrincipal: 'arn:aws:iam::111111111111:role/mainframe',
          authorizerPrincipal: 'partner-principal',
        },
      ] satisfies CallerCredentials[]) {
        await rejection(
          policy(callers).identify(credentials),
          'ERR_CALLER_UNAUTHENTICATED',
          /^the credentials identify different callers$/,
        );
      }
    });

    describe('API keys held in secrets', () => {
      it('reads a hash written in upper case or with surrounding blanks', async () => {
        // Prepare
        const env = { KEY_HASH: ` ${apiKeyHash('k').toUpperCase()}\n` };
        const rules = policy({ partner: { apiKeys: [{ env: 'KEY_HASH' }], targets: { demo: {} } } }, { env });

        // Act + Assess
        await expect(rules.identify({ apiKey: 'k' })).resolves.toEqual({ id: 'partner', via: 'api_key' });
      });

      it('skips a secret that holds no SHA-256, reporting it, and refuses the key as wrong', async () => {
        // Prepare
        const errors: Array<[string, unknown]> = [];
        const env = { KEY_HASH: 'k' };
        const rules = policy(
          { partner: { apiKeys: [{ env: 'KEY_HASH' }], targets: { demo: {} } } },
          { env, errors },
        );

        // Act
        await rejection(
          rules.identify({ apiKey: 'k' }),
          'ERR_CALLER_UNAUTHENTICATED',
          /API key is not valid/,
        );

        // Assess
        expect(errors).toHaveLength(1);
        expect(errors[0]![0]).toBe('partner');
        expect(errors[0]![1]).toMatchObject({
          code: 'ERR_CONFIG_INVALID',
          message: 'an API key secret of caller "partner" is not a SHA-256',
        });
      });

      it('takes only exactly 64 hex digits as a hash: one more before or after is reported', async () => {
        for (const held of [`${apiKeyHash('k')}0`, `0${apiKeyHash('k')}`]) {
          // Prepare
          const errors: Array<[string, unknown]> = [];
          const rules = policy(
            { partner: { apiKeys: [{ env: 'KEY_HASH' }], targets: { demo: {} } } },
            { env: { KEY_HASH: held }, errors },
          );

          // Act
          await rejection(rules.identify({ apiKey: 'k' }), 'ERR_CALLER_UNAUTHENTICATED');

          // Assess
          expect(errors.map(([, error]) => (error as GatewayError).code)).toEqual(['ERR_CONFIG_INVALID']);
        }
      });

      it('answers a wrong key with 401 when the only unreadable secret is missing, not unavailable', async () => {
        // Prepare: an environment variable that is not set says nothing about availability.
        const rules = policy({ partner: { apiKeys: [{ env: 'NOT_SET' }], targets: { demo: {} } } });

        // Act + Assess
        await rejection(rules.identify({ apiKey: 'k' }), 'ERR_CALLER_UNAUTHENTICATED');
      });

      it('identifies a key whose secret is readable while another secret is unavailable', async () => {
        // Prepare
        const rules = policy(
          {
            mainframe: { apiKeys: [{ secretsManager: { secretId: 'down' } }], targets: { demo: {} } },
            partner: { apiKeys: [{ env: 'KEY_HASH' }], targets: { demo: {} } },
          },
          { env: { KEY_HASH: apiKeyHash('partner-key') }, secretsManager: unavailable },
        );

        // Act + Assess
        await expect(rules.identify({ apiKey: 'partner-key' })).resolves.toEqual({
          id: 'partner',
          via: 'api_key',
        });
        await rejection(rules.identify({ apiKey: 'other' }), 'ERR_SECRET_UNAVAILABLE');
      });

      it('identifies an inline key first, and refuses a wrong one without secrets to read', async () => {
        // Prepare
        const rules = policy({
          mainframe: { apiKeys: [{ sha256: apiKeyHash('one') }, { sha256: apiKeyHash('two') }], targets: {} },
        });

        // Act + Assess
        await expect(rules.identify({ apiKey: 'two' })).resolves.toEqual({ id: 'mainframe', via: 'api_key' });
        await rejection(rules.identify({ apiKey: 'three' }), 'ERR_CALLER_UNAUTHENTICATED');
        await rejection(rules.identify({ apiKey: '' }), 'ERR_CALLER_UNAUTHENTICATED');
      });
    });

    describe('OAuth client credentials (RFC 6749 2.3.1)', () => {
      const clientCallers = (
        secret: { sha256: string } | { env: string },
      ): GatewayConfigInput['callers'] => ({
        mainframe: {
          oauth: { clients: [{ clientId: 'zos-a', secret: { sha256: apiKeyHash('secret-a') } }] },
          targets: { demo: {} },
        },
        partner: {
          authorizerPrincipals: ['partner-principal'],
          oauth: { clients: [{ clientId: 'zos-b', secret }] },
          targets: { demo: {} },
        },
      });

      it('identifies the caller whose client id and secret both match', async () => {
        // Prepare
        const rules = policy(clientCallers({ sha256: apiKeyHash('secret-b') }));

        // Act + Assess
        await expect(rules.identify({ oauthClient: { id: 'zos-a', secret: 'secret-a' } })).resolves.toEqual({
          id: 'mainframe',
          via: 'oauth_client',
        });
        await expect(rules.identify({ oauthClient: { id: 'zos-b', secret: 'secret-b' } })).resolves.toEqual({
          id: 'partner',
          via: 'oauth_client',
        });
      });

      it("refuses a wrong secret, and one client's secret under another's id", async () => {
        // Prepare
        const rules = policy(clientCallers({ sha256: apiKeyHash('secret-b') }));

        // Act + Assess
        for (const oauthClient of [
          { id: 'zos-a', secret: 'wrong' },
          { id: 'zos-a', secret: 'secret-b' },
          { id: 'zos-b', secret: 'secret-a' },
          { id: 'zos-c', secret: 'secret-a' },
        ]) {
          await rejection(
            rules.identify({ oauthClient }),
            'ERR_CALLER_UNAUTHENTICATED',
            /^the client credentials are not valid$/,
          );
        }
      });

      it('tries the raw reading of HTTP Basic credentials when the decoded one does not match', async () => {
        // Prepare: the client never form-encoded its secret `a+b` (many do not), so decoding made it `a b`.
        const rules = policy(clientCallers({ sha256: apiKeyHash('a+b') }));

        // Act
        const caller = await rules.identify({
          oauthClient: { id: 'zos-b', secret: 'a b', raw: { id: 'zos-b', secret: 'a+b' } },
        });

        // Assess
        expect(caller).toEqual({ id: 'partner', via: 'oauth_client' });
      });

      it('ignores client credentials when no caller has OAuth clients (a Lambda authorizer used them)', async () => {
        // Prepare
        const rules = policy({
          partner: { authorizerPrincipals: ['partner-principal'], targets: { demo: {} } },
        });

        // Act + Assess
        await expect(
          rules.identify({ oauthClient: { id: 'x', secret: 'y' }, authorizerPrincipal: 'partner-principal' }),
        ).resolves.toEqual({ id: 'partner', via: 'authorizer' });
      });

      it('refuses client credentials and another credential that identify different callers', async () => {
        // Prepare
        const rules = policy(clientCallers({ sha256: apiKeyHash('secret-b') }));

        // Act + Assess
        await rejection(
          rules.identify({
            oauthClient: { id: 'zos-a', secret: 'secret-a' },
            authorizerPrincipal: 'partner-principal',
          }),
          'ERR_CALLER_UNAUTHENTICATED',
          /different callers/,
        );
      });

      it('reads a secret hash held in a secret, in upper case or with blanks', async () => {
        // Prepare
        const env = { CLIENT_HASH: `\t${apiKeyHash('secret-b').toUpperCase()} ` };
        const rules = policy(clientCallers({ env: 'CLIENT_HASH' }), { env });

        // Act + Assess
        await expect(rules.identify({ oauthClient: { id: 'zos-b', secret: 'secret-b' } })).resolves.toEqual({
          id: 'partner',
          via: 'oauth_client',
        });
      });

      it('skips a client whose secret holds no SHA-256, reporting it', async () => {
        // Prepare
        const errors: Array<[string, unknown]> = [];
        const env = { CLIENT_HASH: 'secret-b' };
        const rules = policy(clientCallers({ env: 'CLIENT_HASH' }), { env, errors });

        // Act
        await rejection(
          rules.identify({ oauthClient: { id: 'zos-b', secret: 'secret-b' } }),
          'ERR_CALLER_UNAUTHENTICATED',
        );

        // Assess: the other client still works.
        expect(errors.map(([caller, error]) => [caller, (error as GatewayError).code])).toEqual([
          ['partner', 'ERR_CONFIG_INVALID'],
        ]);
        expect((errors[0]![1] as Error).message).toBe(
          'a client secret hash of caller "partner" is not a SHA-256',
        );
        await expect(rules.identify({ oauthClient: { id: 'zos-a', secret: 'secret-a' } })).resolves.toEqual({
          id: 'mainframe',
          via: 'oauth_client',
        });
      });

      it('answers "try again" (503) for unmatched credentials while a hash cannot be read', async () => {
        // Prepare
        const errors: Array<[string, unknown]> = [];
        const rules = policy(clientCallers({ secretsManager: { secretId: 'down' } } as never), {
          errors,
          secretsManager: unavailable,
        });

        // Act + Assess
        await rejection(
          rules.identify({ oauthClient: { id: 'zos-b', secret: 'secret-b' } }),
          'ERR_SECRET_UNAVAILABLE',
        );
        await expect(rules.identify({ oauthClient: { id: 'zos-a', secret: 'secret-a' } })).resolves.toEqual({
          id: 'mainframe',
          via: 'oauth_client',
        });
        expect(errors.map(([caller]) => caller)).toEqual(['partner', 'partner']);
      });

      it('takes only exactly 64 hex digits as a client secret hash: one more before or after is reported', async () => {
        for (const held of [`${apiKeyHash('secret-b')}0`, `0${apiKeyHash('secret-b')}`]) {
          // Prepare
          const errors: Array<[string, unknown]> = [];
          const rules = policy(clientCallers({ env: 'CLIENT_HASH' }), { env: { CLIENT_HASH: held }, errors });

          // Act
          await rejection(
            rules.identify({ oauthClient: { id: 'zos-b', secret: 'secret-b' } }),
            'ERR_CALLER_UNAUTHENTICATED',
          );

          // Assess
          expect(errors.map(([, error]) => (error as GatewayError).code)).toEqual(['ERR_CONFIG_INVALID']);
        }
      });

      it('works without an error listener when a client secret hash cannot be read', async () => {
        // Prepare
        const { config } = parseConfig({
          signingKeys: { k: { type: 'kms', keyId: 'alias/k' } },
          targets: { demo: target },
          callers: clientCallers({ env: 'NOT_SET' }),
        });
        const rules = new CallerPolicy(config, new SecretResolver({ env: {} }));

        // Act + Assess
        await expect(rules.identify({ oauthClient: { id: 'zos-a', secret: 'secret-a' } })).resolves.toEqual({
          id: 'mainframe',
          via: 'oauth_client',
        });
      });

      it('identifies a caller with OAuth clients by another credential when no client credentials are sent', async () => {
        // Prepare
        const rules = policy(clientCallers({ sha256: apiKeyHash('secret-b') }));

        // Act + Assess
        await expect(rules.identify({ authorizerPrincipal: 'partner-principal' })).resolves.toEqual({
          id: 'partner',
          via: 'authorizer',
        });
      });

      it('answers 401 for unmatched credentials when a hash is only missing', async () => {
        // Prepare
        const rules = policy(clientCallers({ env: 'NOT_SET' }));

        // Act + Assess
        await rejection(
          rules.identify({ oauthClient: { id: 'zos-b', secret: 'secret-b' } }),
          'ERR_CALLER_UNAUTHENTICATED',
        );
      });
    });
  });

  describe('authorizeNamedSubject', () => {
    const identityTokens = {
      issuer: 'https://mf.example',
      audience: 'gw',
      jwksUrl: 'https://mf.example/jwks',
    };
    const caller: Caller = { id: 'mainframe', via: 'api_key' };
    const rules = (oauth: z.input<typeof callerOAuthSettings>) =>
      policy({ mainframe: { apiKeys: [{ sha256: apiKeyHash('k') }], oauth, targets: { demo: {} } } });

    it('refuses a named user from a caller that must prove each one (the default with an issuer)', () => {
      for (const oauth of [{ identityTokens }, { identityTokens: { ...identityTokens, required: true } }]) {
        refusal(
          () => rules(oauth).authorizeNamedSubject(caller),
          'subject',
          /^caller "mainframe" must prove the end user with an identity token, not name them$/,
        );
      }
    });

    it('accepts a named user from a caller without an identity issuer, or that opted out', () => {
      expect(() => rules({}).authorizeNamedSubject(caller)).not.toThrow();
      expect(() =>
        rules({ identityTokens: { ...identityTokens, required: false } }).authorizeNamedSubject(caller),
      ).not.toThrow();
    });

    it('is part of authorize for a named user, the default evidence, and hands back the authorized request', () => {
      // Prepare
      const request = { target: 'demo', subject: 'CICSUSR1' };
      const mustProve = rules({ identityTokens });

      // Act
      const proven = mustProve.authorize(caller, request, 'proven');

      // Assess
      expect(proven.caller).toBe(caller);
      expect(proven.request).toBe(request);
      for (const act of [
        () => mustProve.authorize(caller, request),
        () => mustProve.authorize(caller, request, 'named'),
      ]) {
        refusal(
          act,
          'subject',
          /^caller "mainframe" must prove the end user with an identity token, not name them$/,
        );
      }
      expect(rules({}).authorize(caller, request, 'named').request).toBe(request);
    });

    it('leaves an application token (no user named) to the application-token rule', () => {
      refusal(
        () => rules({ identityTokens }).authorize(caller, { target: 'demo', subject: '' }, 'named'),
        'subject',
        /^caller "mainframe" must name a subject on "demo"$/,
      );
    });
  });

  describe('authorize', () => {
    const caller: Caller = { id: 'mainframe', via: 'api_key' };
    const targets: GatewayConfigInput['targets'] = {
      demo: { ...target, scope: 'openid' },
      exchange: { ...target, grant: 'token-exchange' },
      app: { ...target, grant: 'client_credentials' },
      other: target,
    };
    const rules = (applicationTokens = false) =>
      policy(
        {
          mainframe: {
            apiKeys: [{ sha256: apiKeyHash('k') }],
            oauth: { applicationTokens },
            targets: {
              demo: {
                subjects: 'U[0-9]',
                scopes: ['payments.read', 'payments.list'],
                audiences: ['https://api.example'],
                resources: ['https://api.example/payments'],
              },
              exchange: {},
              app: {},
            },
          },
        },
        { targets },
      );
    const request = (overrides: Partial<TokenRequest> = {}): TokenRequest => ({
      target: 'demo',
      subject: 'U1',
      ...overrides,
    });

    it('accepts a request inside every allow-list', () => {
      expect(() =>
        rules().authorize(
          caller,
          request({
            scope: ' openid  payments.read payments.list ',
            audience: 'https://api.example',
            resource: 'https://api.example/payments',
          }),
        ),
      ).not.toThrow();
      expect(() => rules().authorize(caller, request())).not.toThrow();
    });

    it('refuses a target that does not exist, as unknown', () => {
      let thrown: unknown;
      try {
        rules().authorize(caller, request({ target: 'nowhere' }));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(GatewayError);
      expect(thrown).not.toBeInstanceOf(PolicyRefusal);
      expect(thrown).toMatchObject({ code: 'ERR_TARGET_UNKNOWN', message: 'no target named "nowhere"' });
    });

    it('denies by default a caller the configuration does not know', () => {
      refusal(
        () => rules().authorize({ id: 'ghost', via: 'api_key' }, request()),
        'target',
        /^caller "ghost" may not use target "demo"$/,
      );
    });

    it('refuses a target the caller has no grant on', () => {
      refusal(
        () => rules().authorize(caller, request({ target: 'other' })),
        'target',
        /^caller "mainframe" may not use target "other"$/,
      );
    });

    it('refuses a subject outside the pattern', () => {
      refusal(
        () => rules().authorize(caller, request({ subject: 'U10' })),
        'subject',
        /^caller "mainframe" may not obtain tokens for this subject on "demo"$/,
      );
    });

    it("refuses a scope outside the caller's scopes and the target default, naming it", () => {
      refusal(
        () => rules().authorize(caller, request({ scope: 'payments.read payments.write admin' })),
        'scope',
        /^scope not allowed: payments\.write admin$/,
      );
    });

    it('refuses an audience or resource not on its list', () => {
      refusal(
        () => rules().authorize(caller, request({ audience: 'https://evil.example' })),
        'audience',
        /^audience not allowed$/,
      );
      refusal(
        () => rules().authorize(caller, request({ resource: 'https://api.example/other' })),
        'resource',
        /^resource not allowed$/,
      );
      refusal(() => rules().authorize(caller, request({ audience: '' })), 'audience', /audience not allowed/);
      refusal(() => rules().authorize(caller, request({ resource: '' })), 'resource', /resource not allowed/);
    });

    it('reports the first violation: the subject before the scope, the scope before the audience', () => {
      refusal(
        () => rules().authorize(caller, request({ subject: 'X', scope: 'admin', audience: 'x' })),
        'subject',
        /subject/,
      );
      refusal(
        () => rules().authorize(caller, request({ scope: 'admin', audience: 'x', resource: 'y' })),
        'scope',
        /admin/,
      );
      refusal(
        () => rules().authorize(caller, request({ audience: 'x', resource: 'y' })),
        'audience',
        /audience/,
      );
    });

    describe('an application token (no subject)', () => {
      it('is allowed for a caller that may ask for one, on a grant without a user', () => {
        expect(() => rules(true).authorize(caller, request({ target: 'app', subject: '' }))).not.toThrow();
      });

      it('is refused for a caller that may not ask for one', () => {
        refusal(
          () => rules(false).authorize(caller, request({ target: 'app', subject: '' })),
          'subject',
          /^caller "mainframe" must name a subject on "app"$/,
        );
      });

      it('is refused on the jwt-bearer and token-exchange grants, which exist to name a user', () => {
        refusal(
          () => rules(true).authorize(caller, request({ subject: '' })),
          'subject',
          /must name a subject on "demo"/,
        );
        refusal(
          () => rules(true).authorize(caller, request({ target: 'exchange', subject: '' })),
          'subject',
          /must name a subject on "exchange"/,
        );
      });
    });
  });

  describe('authorizeGrantedScope and allowsGrantedScope', () => {
    const caller: Caller = { id: 'mainframe', via: 'api_key' };
    const rules = () =>
      policy(
        {
          mainframe: {
            apiKeys: [{ sha256: apiKeyHash('k') }],
            targets: { demo: { scopes: ['payments.read'] } },
          },
        },
        { targets: { demo: { ...target, scope: 'openid profile' }, bare: target } },
      );

    it("keeps a token whose scope is within the caller's scopes and the target default", () => {
      for (const granted of ['', 'openid', 'profile payments.read', '  openid   payments.read ']) {
        expect(rules().allowsGrantedScope(caller, { target: 'demo', subject: 'U' }, granted)).toBe(true);
        expect(() =>
          rules().authorizeGrantedScope(caller, { target: 'demo', subject: 'U' }, granted),
        ).not.toThrow();
      }
    });

    it('refuses a token with more, naming what is extra', () => {
      // Act + Assess
      expect(rules().allowsGrantedScope(caller, { target: 'demo', subject: 'U' }, 'openid admin')).toBe(
        false,
      );
      refusal(
        () =>
          rules().authorizeGrantedScope(
            caller,
            { target: 'demo', subject: 'U' },
            'openid admin payments.write',
          ),
        'granted_scope',
        /^the authorization server granted scope not allowed: admin payments\.write$/,
      );
    });

    it('allows nothing beyond an empty scope where the caller has no grant', () => {
      expect(rules().allowsGrantedScope(caller, { target: 'bare', subject: 'U' }, '')).toBe(true);
      expect(
        rules().allowsGrantedScope({ id: 'ghost', via: 'iam' }, { target: 'demo', subject: 'U' }, 'openid'),
      ).toBe(true);
      expect(
        rules().allowsGrantedScope(
          { id: 'ghost', via: 'iam' },
          { target: 'demo', subject: 'U' },
          'payments.read',
        ),
      ).toBe(false);
      expect(rules().allowsGrantedScope(caller, { target: 'bare', subject: 'U' }, 'payments.read')).toBe(
        false,
      );
      expect(rules().allowsGrantedScope(caller, { target: 'nowhere', subject: 'U' }, 'openid')).toBe(false);
    });
  });

  describe('helpers', () => {
    it('splitScope splits on spaces and drops empty names', () => {
      expect(splitScope(undefined)).toEqual([]);
      expect(splitScope('')).toEqual([]);
      expect(splitScope('  a  b ')).toEqual(['a', 'b']);
    });

    it('apiKeyHash is the hex SHA-256 of the key (FIPS 180-2 test vector "abc")', () => {
      expect(apiKeyHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    });
  });
});
