import { describe, expect, it } from 'vitest';
import { parseConfig } from '#lib/config/load-config.ts';
import type { GatewayConfigInput } from '#lib/config/schema.ts';
import { GatewayError } from '#lib/errors.ts';
import { apiKeyHash, CallerPolicy } from '#lib/policy/caller-policy.ts';
import { SecretResolver } from '#lib/secrets/resolve-secret.ts';

const target = {
  tokenEndpoint: 'https://as.example/token',
  clientId: 'gw',
  clientAuthentication: { method: 'none' as const },
};

function policy(
  callers: GatewayConfigInput['callers'],
  options: { env?: NodeJS.ProcessEnv; targets?: GatewayConfigInput['targets']; errors?: string[] } = {},
): CallerPolicy {
  const { config } = parseConfig({
    signingKeys: { k: { type: 'kms', keyId: 'alias/k' } },
    targets: options.targets ?? { demo: target },
    callers,
  });
  return new CallerPolicy(config, new SecretResolver({ env: options.env ?? {} }), {
    onApiKeyError: (caller) => options.errors?.push(caller),
  });
}

const mainframe = { id: 'mainframe', via: 'api_key' } as const;

describe('CallerPolicy', () => {
  describe('authorize', () => {
    it('matches case-insensitively on a target that folds case (alice and ALICE are one user)', () => {
      // Prepare: a lower-case pattern on a target that upper-cases subjects.
      const rules = policy(
        {
          mainframe: {
            apiKeys: [{ sha256: apiKeyHash('k') }],
            targets: { demo: { subjects: '[a-z]{1,8}' } },
          },
        },
        { targets: { demo: { ...target, subject: { case: 'upper' } } } },
      );

      // Act + Assess
      expect(() => rules.authorize(mainframe, { target: 'demo', subject: 'alice' })).not.toThrow();
      expect(() => rules.authorize(mainframe, { target: 'demo', subject: 'ALICE' })).not.toThrow();
      expect(() => rules.authorize(mainframe, { target: 'demo', subject: 'alice1' })).toThrow(
        expect.objectContaining({ code: 'ERR_ACCESS_DENIED' }),
      );
    });

    it('runs patterns in linear time: (a+)+b against a long run of a and a ! answers at once', () => {
      // Prepare: with a backtracking engine this takes longer than the age of the universe.
      const rules = policy({
        mainframe: { apiKeys: [{ sha256: apiKeyHash('k') }], targets: { demo: { subjects: '(a+)+b' } } },
      });

      // Act + Assess
      expect(() => rules.authorize(mainframe, { target: 'demo', subject: `${'a'.repeat(200)}!` })).toThrow(
        expect.objectContaining({ code: 'ERR_ACCESS_DENIED' }),
      );
      expect(() => rules.authorize(mainframe, { target: 'demo', subject: 'aaab' })).not.toThrow();
    });

    it('checks what Unicode case folding makes of a subject (ß becomes SS)', () => {
      // Prepare
      const rules = policy(
        {
          mainframe: {
            apiKeys: [{ sha256: apiKeyHash('k') }],
            targets: { demo: { subjects: '[^S]{1,8}' } },
          },
        },
        { targets: { demo: { ...target, subject: { case: 'upper' } } } },
      );

      // Act + Assess
      expect(() => rules.authorize(mainframe, { target: 'demo', subject: 'ß' })).toThrow(
        expect.objectContaining({ code: 'ERR_ACCESS_DENIED' }),
      );
    });

    it('keeps non-ASCII look-alikes out of ASCII patterns on case-folding targets (Kelvin sign, long s)', () => {
      // Prepare
      const rules = (folding: 'upper' | 'lower') =>
        policy(
          { mainframe: { apiKeys: [{ sha256: apiKeyHash('k') }], targets: { demo: {} } } },
          { targets: { demo: { ...target, subject: { case: folding } } } },
        );

      // Act + Assess
      expect(() => rules('upper').authorize(mainframe, { target: 'demo', subject: 'K\u212Aa' })).toThrow(
        expect.objectContaining({ code: 'ERR_ACCESS_DENIED' }),
      );
      expect(() => rules('lower').authorize(mainframe, { target: 'demo', subject: 'ABC\u017F' })).toThrow(
        expect.objectContaining({ code: 'ERR_ACCESS_DENIED' }),
      );
      expect(() =>
        rules('lower').authorize(mainframe, { target: 'demo', subject: 'cicsusr1' }),
      ).not.toThrow();
    });

    it('reads Unicode property escapes as such on a case-folding target (\\p{Lu} is no literal p{Lu})', () => {
      // Prepare
      const rules = policy(
        {
          mainframe: {
            apiKeys: [{ sha256: apiKeyHash('k') }],
            targets: { demo: { subjects: '[\\p{Lu}\\d]{1,8}' } },
          },
        },
        { targets: { demo: { ...target, subject: { case: 'upper' } } } },
      );

      // Act + Assess
      expect(() => rules.authorize(mainframe, { target: 'demo', subject: 'CICSUSR1' })).not.toThrow();
      expect(() => rules.authorize(mainframe, { target: 'demo', subject: 'CICS{}' })).toThrow(
        expect.objectContaining({ code: 'ERR_ACCESS_DENIED' }),
      );
    });

    it('anchors subject patterns whatever the configuration says', () => {
      // Prepare
      const rules = policy({
        mainframe: { apiKeys: [{ sha256: apiKeyHash('k') }], targets: { demo: { subjects: 'CICS[0-9]+' } } },
      });

      // Act + Assess
      expect(() => rules.authorize(mainframe, { target: 'demo', subject: 'CICS1' })).not.toThrow();
      for (const subject of ['SYSADM/CICS9', 'ADMIN CICS1', 'CICS1X']) {
        expect(() => rules.authorize(mainframe, { target: 'demo', subject })).toThrow(
          expect.objectContaining({ code: 'ERR_ACCESS_DENIED' }),
        );
      }
    });

    it('keeps the default RACF pattern: 1-8 of A-Z, 0-9, #, $, @', () => {
      // Prepare
      const rules = policy({ mainframe: { apiKeys: [{ sha256: apiKeyHash('k') }], targets: { demo: {} } } });

      // Act + Assess
      for (const subject of ['CICSUSR1', 'A$#@', 'X']) {
        expect(() => rules.authorize(mainframe, { target: 'demo', subject })).not.toThrow();
      }
      for (const subject of ['cicsusr1', 'CICSUSR12', '', 'A B']) {
        expect(() => rules.authorize(mainframe, { target: 'demo', subject })).toThrow(
          expect.objectContaining({ code: 'ERR_ACCESS_DENIED', rule: 'subject' }),
        );
      }
    });
  });

  describe('authorizeGrantedScope', () => {
    const rules = () =>
      policy(
        {
          mainframe: {
            apiKeys: [{ sha256: apiKeyHash('k') }],
            targets: { demo: { scopes: ['payments.read'] } },
          },
        },
        { targets: { demo: { ...target, scope: 'openid' } } },
      );

    it("accepts a grant within the caller's scopes and the target default", () => {
      expect(() =>
        rules().authorizeGrantedScope(mainframe, { target: 'demo', subject: 'U' }, 'openid payments.read'),
      ).not.toThrow();
      expect(() =>
        rules().authorizeGrantedScope(mainframe, { target: 'demo', subject: 'U' }, ''),
      ).not.toThrow();
    });

    it('refuses a token the server granted more than the caller may have (server defaults)', () => {
      expect(() =>
        rules().authorizeGrantedScope(mainframe, { target: 'demo', subject: 'U' }, 'api full payments.write'),
      ).toThrow(/granted scope not allowed: api full payments.write/);
    });
  });

  describe('identify', () => {
    it('is never built on one inline API key hash configured for two callers: the configuration refuses it', () => {
      // Prepare: with both, which caller a request is would depend on the order of the configuration.
      const key = { sha256: apiKeyHash('shared') };

      // Act + Assess
      expect(() =>
        policy({
          a: { apiKeys: [key], targets: { demo: {} } },
          b: { apiKeys: [{ sha256: apiKeyHash('other') }, key], targets: { demo: {} } },
        }),
      ).toThrow(/callers\.b\.apiKeys\[1\]\.sha256: API key hash already used by caller "a"/);
      // One caller may list a hash twice (a rotation half done): it names no other caller.
      expect(() => policy({ a: { apiKeys: [key, key], targets: { demo: {} } } })).not.toThrow();
    });

    it('reads API key hashes from secrets on every request, so a revoked key stops working', async () => {
      // Prepare
      const env: NodeJS.ProcessEnv = { MAINFRAME_KEY_HASH: apiKeyHash('key-A') };
      const rules = policy(
        { mainframe: { apiKeys: [{ env: 'MAINFRAME_KEY_HASH' }], targets: { demo: {} } } },
        { env },
      );
      await expect(rules.identify({ apiKey: 'key-A' })).resolves.toEqual(mainframe);

      // Act
      env.MAINFRAME_KEY_HASH = apiKeyHash('key-B');

      // Assess
      await expect(rules.identify({ apiKey: 'key-A' })).rejects.toMatchObject({
        code: 'ERR_CALLER_UNAUTHENTICATED',
      });
      await expect(rules.identify({ apiKey: 'key-B' })).resolves.toEqual(mainframe);
    });

    it.each([
      ['"unavailable" while Secrets Manager cannot be read', 'ERR_SECRET_UNAVAILABLE'],
      ['the configuration error when there are no AWS credentials', 'ERR_AWS_UNCONFIGURED'],
    ] as const)('answers an unmatched key with %s, not "wrong key"', async (_name, code) => {
      // Prepare: the key's hash lives in Secrets Manager, which cannot be read (and was never read).
      const { config } = parseConfig({
        signingKeys: { k: { type: 'kms', keyId: 'alias/k' } },
        targets: { demo: target },
        callers: {
          mainframe: {
            apiKeys: [{ secretsManager: { secretId: 'callers/mainframe' } }],
            targets: { demo: {} },
          },
        },
      });
      const fail = async () => Promise.reject(new GatewayError(code, 'cannot read'));
      const failing = { get: fail, check: fail };
      const rules = new CallerPolicy(config, new SecretResolver({ secretsManager: failing }));

      // Act + Assess
      await expect(rules.identify({ apiKey: 'the-right-key' })).rejects.toMatchObject({ code });
    });

    it('refuses a key whose hash, held in secrets, two callers have, rather than pick the first', async () => {
      // Prepare: the configuration cannot see into secrets, so it cannot refuse this at load.
      const env = { A_KEY_HASH: apiKeyHash('shared'), B_KEY_HASH: apiKeyHash('shared'), C: apiKeyHash('c') };
      const rules = policy(
        {
          a: { apiKeys: [{ env: 'A_KEY_HASH' }], targets: { demo: {} } },
          b: { apiKeys: [{ env: 'C' }, { env: 'B_KEY_HASH' }], targets: { demo: {} } },
        },
        { env },
      );

      // Act + Assess
      await expect(rules.identify({ apiKey: 'shared' })).rejects.toMatchObject({
        code: 'ERR_CALLER_UNAUTHENTICATED',
        message: 'the API key is configured for more than one caller',
      });
      await expect(rules.identify({ apiKey: 'c' })).resolves.toEqual({ id: 'b', via: 'api_key' });
    });

    it("lets one caller's unreadable key secret disable only that key", async () => {
      // Prepare
      const errors: string[] = [];
      const rules = policy(
        {
          partner: { apiKeys: [{ env: 'PARTNER_KEY_HASH' }], targets: { demo: {} } },
          broken: { apiKeys: [{ env: 'NOT_SET' }], targets: { demo: {} } },
        },
        { errors, env: { PARTNER_KEY_HASH: apiKeyHash('partner-key') } },
      );

      // Act
      const caller = await rules.identify({ apiKey: 'partner-key' });

      // Assess
      expect(caller).toEqual({ id: 'partner', via: 'api_key' });
      expect(errors).toEqual(['broken']);
    });

    it('identifies a caller whose hash is inline without reading any key secret', async () => {
      // Prepare: a secret store that would hang forever (Secrets Manager accepting and never answering).
      const { config } = parseConfig({
        signingKeys: { k: { type: 'kms', keyId: 'alias/k' } },
        targets: { demo: target },
        callers: {
          mainframe: { apiKeys: [{ sha256: apiKeyHash('inline-key') }], targets: { demo: {} } },
          partner: { apiKeys: [{ secretsManager: { secretId: 'partner-key-hash' } }], targets: { demo: {} } },
        },
      });
      const reads: string[] = [];
      const hanging = {
        resolve: (reference: { secretsManager?: { secretId: string } }) => {
          reads.push(reference.secretsManager?.secretId ?? '?');
          return new Promise<string>(() => undefined);
        },
      };
      const rules = new CallerPolicy(config, hanging);

      // Act
      const caller = await rules.identify({ apiKey: 'inline-key' });

      // Assess
      expect(caller).toEqual(mainframe);
      expect(reads).toEqual([]);
    });
  });
});
