import { describe, expect, it } from 'vitest';
import { GatewayError } from '#lib/errors.ts';
import { normalisePath, parseCallPath, pathAllowed, upstreamUrl } from '#lib/proxy/upstream-path.ts';

/**
 * What docs/API.md ("The path") specifies for `/v1/call/{target}/{path}`: a path that could climb out of
 * the base URL or be read differently by the API is `invalid_request` (ERR_REQUEST_INVALID), and so is a
 * query outside RFC 3986's characters; the host only ever comes from the configured base URL.
 */
function refused(act: () => unknown, reason: RegExp): void {
  let thrown: unknown;
  try {
    act();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a refusal').toBeInstanceOf(GatewayError);
  expect((thrown as GatewayError).code).toBe('ERR_REQUEST_INVALID');
  expect((thrown as GatewayError).message).toMatch(reason);
}

describe('upstream path', () => {
  describe('parseCallPath', () => {
    it('takes the target from /v1/call/{target}/, at the start or behind a stage name', () => {
      expect(parseCallPath('/v1/call/orders/accounts/7', '')).toEqual({
        target: 'orders',
        path: '/accounts/7',
        rawPath: '/accounts/7',
        query: '',
      });
      expect(parseCallPath('/prod/v1/call/orders/accounts', 'a=1').target).toBe('orders');
    });

    it('reads a target with nothing below it as the base path itself', () => {
      expect(parseCallPath('/v1/call/orders', '')).toEqual({
        target: 'orders',
        path: '/',
        rawPath: '/',
        query: '',
      });
      expect(parseCallPath('/v1/call/orders/', '')).toEqual({
        target: 'orders',
        path: '/',
        rawPath: '/',
        query: '',
      });
    });

    it('keeps the path as sent beside its normal form (RFC 3986 6.2.2.2)', () => {
      expect(parseCallPath('/v1/call/orders/a%41%3bb', '')).toMatchObject({
        path: '/aA%3Bb',
        rawPath: '/a%41%3bb',
      });
    });

    it('refuses a path outside /v1/call/', () => {
      refused(() => parseCallPath('/v1/token', ''), /does not start with \/v1\/call\/\{target\}\//);
      refused(() => parseCallPath('/v1/callx/orders/a', ''), /does not start with \/v1\/call\//);
    });

    it('accepts target names of 1 to 64 letters, digits, . _ - starting with a letter or digit', () => {
      for (const target of ['a', '9', 'o.r_d-e9', `a${'b'.repeat(63)}`]) {
        expect(parseCallPath(`/v1/call/${target}/x`, '').target).toBe(target);
      }
    });

    it('refuses any other target name', () => {
      for (const target of ['', '-a', '.a', '_a', `a${'b'.repeat(64)}`, 'a!', 'a%20b', 'é']) {
        refused(() => parseCallPath(`/v1/call/${target}/x`, ''), /the target name is not valid/);
      }
    });

    it('applies the path rules below the target', () => {
      refused(() => parseCallPath('/v1/call/orders/../admin', ''), /\. or \.\. segment/);
    });

    describe('the query', () => {
      it('is passed on as sent when it is made of RFC 3986 query characters', () => {
        for (const query of ['', 'a=1&b=2', "x=/?:@!$&'()*+,;=-._~", 'q=%2F%20%C3%A9']) {
          expect(parseCallPath('/v1/call/orders/a', query).query).toBe(query);
        }
      });

      it('may be 4096 characters long, not more', () => {
        // Prepare
        const longest = `q=${'a'.repeat(4094)}`;

        // Act + Assess
        expect(parseCallPath('/v1/call/orders/a', longest).query).toBe(longest);
        refused(() => parseCallPath('/v1/call/orders/a', `${longest}a`), /the query exceeds 4096 characters/);
      });

      it('refuses characters that must be percent-encoded, anywhere in it', () => {
        for (const query of [' a', 'a ', 'a b', 'a"b', 'a#b', 'a<b', 'a\\b', 'a|b', 'a\nb', 'é']) {
          refused(() => parseCallPath('/v1/call/orders/a', query), /query contains characters that must be/);
        }
      });

      it('refuses an invalid percent-encoding', () => {
        for (const query of ['a=%', 'a=%4', 'a=%4g', 'a=%zz&b=1']) {
          refused(
            () => parseCallPath('/v1/call/orders/a', query),
            /query contains an invalid percent-encoding/,
          );
        }
      });
    });
  });

  describe('normalisePath', () => {
    it('accepts a path of 2048 characters, not more', () => {
      // Prepare
      const longest = `/${'a'.repeat(2047)}`;

      // Act + Assess
      expect(normalisePath(longest)).toHaveLength(2048);
      refused(() => normalisePath(`${longest}a`), /the path exceeds 2048 characters/);
    });

    it('refuses a path that does not start with /', () => {
      refused(() => normalisePath('a/b'), /must start with \//);
      refused(() => normalisePath(''), /must start with \//);
    });

    it('accepts a trailing slash, and refuses an empty segment anywhere else (//host)', () => {
      expect(() => normalisePath('/')).not.toThrow();
      expect(() => normalisePath('/a/')).not.toThrow();
      for (const raw of ['//', '//a', '/a//b', '/a//']) {
        refused(() => normalisePath(raw), /empty segment \(\/\/\)/);
      }
    });

    it('refuses . and .. segments, also percent-encoded or with a ;parameter', () => {
      for (const raw of [
        '/.',
        '/..',
        '/a/.',
        '/a/../b',
        '/%2e',
        '/%2E%2e',
        '/..;x',
        '/.;',
        '/..;x;y',
        '/a/..;',
      ]) {
        refused(() => normalisePath(raw), /a \. or \.\. segment/);
      }
    });

    it('accepts segments that only contain dots among other characters', () => {
      for (const raw of ['/...', '/.well-known', '/a.', '/..a', '/a..', '/x;..', '/a/b.c']) {
        expect(() => normalisePath(raw), raw).not.toThrow();
      }
    });

    it('refuses an encoded slash or backslash, which the API could read as a separator', () => {
      for (const raw of ['/a%2fb', '/a%2Fb', '/a%5cb', '/a%5Cb', '/%2F']) {
        refused(() => normalisePath(raw), /an encoded slash or backslash/);
      }
    });

    it('refuses characters that must be percent-encoded, anywhere in a segment', () => {
      for (const raw of ['/a\\b', '/ a', '/a ', '/a"b', '/a<b', '/a[b', '/a|b', '/é', '/a?b', '/a#b']) {
        refused(() => normalisePath(raw), /characters that must be percent-encoded/);
      }
    });

    it('refuses an invalid percent-encoding', () => {
      for (const raw of ['/a%', '/a%4', '/a%4g', '/%zz', '/a%2']) {
        refused(() => normalisePath(raw), /an invalid percent-encoding/);
      }
    });

    it('refuses bytes that are not UTF-8 once decoded (an overlong dot, a lone byte)', () => {
      for (const raw of ['/%c0%ae', '/%ff', '/%C3']) {
        refused(() => normalisePath(raw), /not valid UTF-8/);
      }
    });

    it('refuses control characters, %00-%1F and %7F', () => {
      for (const raw of ['/a%00', '/a%0d%0ab', '/%1F', '/a%7F']) {
        refused(() => normalisePath(raw), /a control character/);
      }
      expect(() => normalisePath('/a%20b%7E')).not.toThrow();
    });

    it('refuses a double percent-encoding, which some servers decode twice', () => {
      for (const raw of ['/%252e', '/%252F', '/a%2541']) {
        refused(() => normalisePath(raw), /a double percent-encoding/);
      }
      // A percent sign itself is fine: only one followed by two hex digits was encoded twice.
      expect(() => normalisePath('/100%25')).not.toThrow();
      expect(() => normalisePath('/100%25zz')).not.toThrow();
      expect(() => normalisePath('/50%25a-off')).not.toThrow();
    });

    describe('the RFC 3986 6.2.2 normal form (unreserved decoded, hex upper-case, reserved kept encoded)', () => {
      it.each([
        ['/a%41b/%7e', '/aAb/~'],
        ['/caf%c3%a9', '/caf%C3%A9'],
        ['/%3A%40%21%24%26%27%28%29%2A%2B%2C%3B%3D', '/%3A%40%21%24%26%27%28%29%2A%2B%2C%3B%3D'],
        ['/%3b%3d%2c', '/%3B%3D%2C'],
        ["/:@!$&'()*+,;=", "/:@!$&'()*+,;="],
        ['/a%20b/c%5B', '/a%20b/c%5B'],
        ['/100%25', '/100%25'],
        ['/a/b/', '/a/b/'],
      ])('%s becomes %s', (raw, canonical) => {
        expect(normalisePath(raw)).toBe(canonical);
      });
    });
  });

  describe('pathAllowed', () => {
    it.each<[string, string[], boolean]>([
      ['/accounts', ['/accounts'], true],
      ['/accounts/7', ['/accounts'], true],
      ['/accountsX', ['/accounts'], false],
      ['/accounts', ['/accounts/'], false],
      ['/accounts/7', ['/accounts/'], true],
      ['/orders/1', ['/accounts', '/orders'], true],
      ['/orders/1', ['/orders', '/accounts'], true],
      ['/other', ['/accounts', '/orders'], false],
      ['/anything', [], false],
      ['/x/accounts', ['/accounts'], false],
    ])('%s in %j: %s', (path, prefixes, allowed) => {
      expect(pathAllowed(path, prefixes)).toBe(allowed);
    });
  });

  describe('upstreamUrl', () => {
    const href = (base: string, rawPath: string, query = '') =>
      upstreamUrl(base, { rawPath, query }).url.href;

    it('puts the path below the base URL, whatever slashes end the base', () => {
      expect(href('https://api.example/orders//', '/a/7')).toBe('https://api.example/orders/a/7');
      expect(href('https://api.example', '/a')).toBe('https://api.example/a');
      expect(href('https://api.example/', '/')).toBe('https://api.example/');
    });

    it('adds the query only when there is one', () => {
      expect(href('https://api.example/v2', '/a', 'x=1')).toBe('https://api.example/v2/a?x=1');
      expect(upstreamUrl('https://api.example/v2', { rawPath: '/a', query: '' }).url.search).toBe('');
      expect(href('https://api.example/v2', '/a')).not.toContain('?');
      expect(upstreamUrl('https://api.example/v2', { rawPath: '/a', query: '' }).requestTarget).toBe('/v2/a');
    });

    it('sends the path and query bytes as the caller sent them', () => {
      const target = upstreamUrl('https://api.example/v2/', {
        rawPath: '/a%3bb/%41',
        query: "name='O''Brien'",
      });
      expect(target.requestTarget).toBe("/v2/a%3bb/%41?name='O''Brien'");
      expect(target.url.origin).toBe('https://api.example');
    });

    it('never lets a path climb out of the base path, however it got past the checks', () => {
      for (const rawPath of ['/../admin', '/a/../../admin', '/%2e%2e/admin', '/a/./b', '/.']) {
        refused(
          () => upstreamUrl('https://api.example/orders', { rawPath, query: '' }),
          /does not stay below the API base URL/,
        );
      }
    });

    it('never lets a path change the host', () => {
      for (const rawPath of ['@evil.example/x', '.evil.example/x', ':8443/x']) {
        refused(
          () => upstreamUrl('https://api.example', { rawPath, query: '' }),
          /does not stay below the API base URL/,
        );
      }
    });
  });
});
