import { describe, expect, it } from 'vitest';
import { GatewayError } from '#lib/errors.ts';
import {
  checkRawExpiresIn,
  MAX_ACCESS_TOKEN_LENGTH,
  MAX_REFRESH_TOKEN_LENGTH,
  MAX_SCOPE_LENGTH,
  MAX_TOKEN_LIFETIME_SECONDS,
  type ValidatedTokenFields,
  validateTokenFields,
} from '#lib/oauth/token-response.ts';

const fields = (overrides: Partial<ValidatedTokenFields> = {}): ValidatedTokenFields => ({
  accessToken: 'at-1',
  tokenType: 'Bearer',
  expiresIn: 600,
  scope: 'read',
  refreshToken: undefined,
  ...overrides,
});

/** What `act` threw: it must be ERR_AS_RESPONSE_INVALID, and its message says why (matched by `reason`). */
function refusal(act: () => unknown, reason: RegExp): void {
  let thrown: unknown;
  try {
    act();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(GatewayError);
  expect((thrown as GatewayError).code).toBe('ERR_AS_RESPONSE_INVALID');
  expect((thrown as GatewayError).message).toMatch(/^invalid token response: /);
  expect((thrown as GatewayError).message).toMatch(reason);
}

describe('token response', () => {
  describe('checkRawExpiresIn', () => {
    it('accepts a response without expires_in (RFC 6749 5.1: RECOMMENDED, not REQUIRED)', () => {
      expect(() => checkRawExpiresIn(undefined)).not.toThrow();
    });

    it('accepts whole seconds as a JSON number or a string of up to 15 digits', () => {
      for (const value of [1, 600, 86_400 * 3650, Number.MAX_SAFE_INTEGER, '1', '600', '999999999999999']) {
        expect(() => checkRawExpiresIn(value), String(value)).not.toThrow();
      }
    });

    it('refuses what is not a whole number of seconds, which parseFloat would have read', () => {
      const values: unknown[] = [
        '600 seconds',
        ' 600',
        '600 ',
        '6e2',
        '1234567890123456', // 16 digits: past what the grammar check lets through
        '',
        '-5',
        1.5,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        2 ** 53,
        true,
        null,
        {},
        ['600'], // digits once turned into a string, but not a number nor a string
      ];
      for (const value of values) {
        refusal(() => checkRawExpiresIn(value), /expires_in is not a whole number of seconds/);
      }
    });

    it('refuses a lifetime of 0 or less: the token has already expired', () => {
      for (const value of [0, -1, '0', '000']) {
        refusal(() => checkRawExpiresIn(value), /expires_in says the token has already expired/);
      }
    });
  });

  describe('validateTokenFields', () => {
    it('returns the fields as they were when every one is valid', () => {
      // Prepare
      const valid = fields({ scope: 'read write', refreshToken: 'rt-1', tokenType: 'DPoP' });

      // Act + Assess
      expect(validateTokenFields(valid)).toEqual(valid);
    });

    it('keeps a response without expires_in, scope or refresh token as it is', () => {
      // Act
      const validated = validateTokenFields(
        fields({ expiresIn: undefined, scope: undefined, refreshToken: undefined }),
      );

      // Assess: no lifetime invented (NaN or a day) where the server named none.
      expect(validated).toEqual({
        accessToken: 'at-1',
        tokenType: 'Bearer',
        expiresIn: undefined,
        scope: undefined,
        refreshToken: undefined,
      });
    });

    it('clamps expires_in to a day and keeps shorter lifetimes', () => {
      expect(validateTokenFields(fields({ expiresIn: 1 })).expiresIn).toBe(1);
      expect(validateTokenFields(fields({ expiresIn: 86_400 })).expiresIn).toBe(86_400);
      expect(validateTokenFields(fields({ expiresIn: 86_401 })).expiresIn).toBe(86_400);
      expect(validateTokenFields(fields({ expiresIn: 1e12 })).expiresIn).toBe(MAX_TOKEN_LIFETIME_SECONDS);
      expect(MAX_TOKEN_LIFETIME_SECONDS).toBe(86_400);
    });

    it('accepts an access token of 8192 printable characters and refuses one of 8193', () => {
      // Prepare
      expect(MAX_ACCESS_TOKEN_LENGTH).toBe(8192);
      const longest = `~ ${'a'.repeat(8190)}`;

      // Act + Assess
      expect(validateTokenFields(fields({ accessToken: longest })).accessToken).toBe(longest);
      refusal(
        () => validateTokenFields(fields({ accessToken: `${longest}a` })),
        /the access token is longer than 8192 characters/,
      );
    });

    it('refuses an access token that is empty or has characters outside %x20-7E anywhere', () => {
      for (const accessToken of ['', 'a\nb', 'ab\n', '\nab', 'ab\r', 'a\u0000', 'a\u007F', 'é', 'a\tb']) {
        refusal(
          () => validateTokenFields(fields({ accessToken })),
          /the access token has characters outside RFC 6749 A\.12/,
        );
      }
    });

    it('accepts a token type of 1 to 32 printable characters without spaces and refuses others', () => {
      // Prepare
      const longest = 'urn:x:'.padEnd(32, 'T');

      // Act + Assess
      expect(validateTokenFields(fields({ tokenType: longest })).tokenType).toBe(longest);
      expect(validateTokenFields(fields({ tokenType: 'N_A' })).tokenType).toBe('N_A');
      for (const tokenType of ['', `${longest}T`, 'Bearer x', ' Bearer', 'Bearer\n', '\nBearer', 'Béarer']) {
        refusal(() => validateTokenFields(fields({ tokenType })), /token_type is not a short printable name/);
      }
    });

    it('accepts a scope of up to 1024 characters of its grammar, also empty, and refuses others', () => {
      // Prepare
      expect(MAX_SCOPE_LENGTH).toBe(1024);
      const longest = `a ${'b'.repeat(1022)}`;

      // Act + Assess
      for (const scope of [longest, '', 'read write', '!#[]~']) {
        expect(validateTokenFields(fields({ scope })).scope).toBe(scope);
      }
      for (const scope of [`${longest}b`, 'read "write"', 'a\\b', 'read\n', '\nread', 'lé']) {
        refusal(
          () => validateTokenFields(fields({ scope })),
          /scope is longer than 1024 characters or outside RFC 6749 3\.3/,
        );
      }
    });

    it('keeps a refresh token of up to 8192 printable characters', () => {
      // Prepare
      expect(MAX_REFRESH_TOKEN_LENGTH).toBe(8192);
      const longest = `~ ${'r'.repeat(8190)}`;

      // Act + Assess
      expect(validateTokenFields(fields({ refreshToken: longest })).refreshToken).toBe(longest);
    });

    it('drops a refresh token that breaks its grammar or length, and keeps the access token', () => {
      for (const refreshToken of ['', `~ ${'r'.repeat(8191)}`, 'r\nt', 'rt\n', '\nrt', 'rt\u0000']) {
        // Act
        const validated = validateTokenFields(fields({ refreshToken }));

        // Assess
        expect(validated).toEqual({ ...fields(), refreshToken: undefined });
      }
    });
  });
});
