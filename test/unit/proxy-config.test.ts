import { describe, expect, it } from 'vitest';
import { parseConfig } from '#lib/config/load-config.ts';
import { PROXY_BODY_LIMIT_BYTES } from '#lib/config/schema.ts';
import { normalisePath, parseCallPath, pathAllowed, upstreamUrl } from '#lib/proxy/upstream-path.ts';
import { configIssues } from './config-issues.ts';

const withProxy = (proxy: unknown, environment = 'production') => ({
  environment,
  signingKeys: { primary: { type: 'kms', keyId: 'alias/k' } },
  targets: {
    orders: {
      tokenEndpoint: 'https://as.example/token',
      clientId: 'gw',
      clientAuthentication: { method: 'client_secret_basic', secret: { env: 'ORDERS_SECRET' } },
      proxy,
    },
  },
});

const issuesOf = (document: unknown) => configIssues(() => parseConfig(document));

describe('proxy configuration', () => {
  describe('parseConfig', () => {
    it('fills the documented defaults', () => {
      // Act
      const { config } = parseConfig(withProxy({ baseUrl: 'https://api.example/orders/v2' }));

      // Assess
      expect(config.targets.orders?.proxy).toEqual({
        baseUrl: 'https://api.example/orders/v2',
        headers: {},
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        pathPrefixes: ['/'],
        timeoutMs: 10_000,
        maxRequestBytes: PROXY_BODY_LIMIT_BYTES,
        maxResponseBytes: PROXY_BODY_LIMIT_BYTES,
        reissueAfterSeconds: 30,
      });
    });

    it.each<[string, unknown, string, string, RegExp]>([
      ['plain http in production', { baseUrl: 'http://api.example' }, 'production', 'baseUrl', /https/],
      [
        'plain http to loopback in production',
        { baseUrl: 'http://127.0.0.1:9' },
        'production',
        'baseUrl',
        /https/,
      ],
      [
        'plain http off loopback in development',
        { baseUrl: 'http://api.example' },
        'development',
        'baseUrl',
        /https/,
      ],
      [
        'credentials in the base URL',
        { baseUrl: 'https://u:p@api.example' },
        'production',
        'baseUrl',
        /credentials/,
      ],
      ['a query in the base URL', { baseUrl: 'https://api.example/?k=1' }, 'production', 'baseUrl', /query/],
      [
        'a fixed Authorization header',
        { baseUrl: 'https://a.example', headers: { Authorization: 'x' } },
        'production',
        'headers',
        /itself/,
      ],
      [
        'a fixed x-api-key header',
        { baseUrl: 'https://a.example', headers: { 'x-api-key': 'x' } },
        'production',
        'headers',
        /itself/,
      ],
      [
        'a header value with CR LF',
        { baseUrl: 'https://a.example', headers: { 'x-a': 'b\r\nx-b: c' } },
        'production',
        'headers',
        /printable/,
      ],
      [
        'a path prefix with ..',
        { baseUrl: 'https://a.example', pathPrefixes: ['/a/../b'] },
        'production',
        'pathPrefixes',
        /absolute path/,
      ],
      [
        'a path prefix with //',
        { baseUrl: 'https://a.example', pathPrefixes: ['//a'] },
        'production',
        'pathPrefixes',
        /absolute path/,
      ],
      ['CONNECT', { baseUrl: 'https://a.example', methods: ['CONNECT'] }, 'production', 'methods', /./],
      [
        'a body limit above the platform bound',
        { baseUrl: 'https://a.example', maxRequestBytes: PROXY_BODY_LIMIT_BYTES + 1 },
        'production',
        'maxRequestBytes',
        /./,
      ],
      [
        'a timeout beyond API Gateway',
        { baseUrl: 'https://a.example', timeoutMs: 30_000 },
        'production',
        'timeoutMs',
        /./,
      ],
    ])('refuses %s', (_, proxy, environment, field, message) => {
      // Act
      const issues = issuesOf(withProxy(proxy, environment));

      // Assess
      expect(
        issues.some(
          (issue) => issue.path.startsWith(`targets.orders.proxy.${field}`) && message.test(issue.message),
        ),
        JSON.stringify(issues),
      ).toBe(true);
    });

    it('allows plain http to loopback in development (npm start, tests)', () => {
      // Act
      const { config } = parseConfig(withProxy({ baseUrl: 'http://127.0.0.1:8081' }, 'development'));

      // Assess
      expect(config.targets.orders?.proxy?.baseUrl).toBe('http://127.0.0.1:8081');
    });
  });
});

describe('upstream path', () => {
  describe('normalisePath', () => {
    it.each([
      ['/', '/'],
      ['/accounts/7', '/accounts/7'],
      ['/accounts/7/', '/accounts/7/'],
      ['/a%41b', '/aAb'],
      ['/caf%c3%a9', '/caf%C3%A9'],
      // RFC 3986 6.2.2.2: an encoded reserved character is another path than the character itself.
      ['/a%3bb/c%3Dd/e%2Cf%2b%26', '/a%3Bb/c%3Dd/e%2Cf%2B%26'],
      ["/x;v=1/a:b@c!$&'()*+,=", "/x;v=1/a:b@c!$&'()*+,="],
      ['/a%20b', '/a%20b'],
      ['/...', '/...'],
      ['/.well-known', '/.well-known'],
    ])('%s is %s in its normal form', (raw, canonical) => {
      // Act
      const path = normalisePath(raw);

      // Assess
      expect(path).toBe(canonical);
    });

    it.each([
      '/..',
      '/a/.',
      '/%2e',
      '/a%2fb',
      '/a%5Cb',
      '/a\\b',
      '//a',
      '/a//b',
      '/%252e',
      '/..;x',
      '/%c0%ae',
      '/a%0d%0ab',
      '/a%',
    ])('refuses %s', (raw) => {
      // Act
      const refusal = () => normalisePath(raw);

      // Assess
      expect(refusal).toThrow(expect.objectContaining({ code: 'ERR_REQUEST_INVALID' }));
    });
  });

  describe('parseCallPath', () => {
    it('takes the target and path from behind a stage name, and keeps the query', () => {
      // Act
      const call = parseCallPath('/prod/v1/call/orders/accounts/7', 'expand=items&x=%2F');

      // Assess
      expect(call).toEqual({
        target: 'orders',
        path: '/accounts/7',
        rawPath: '/accounts/7',
        query: 'expand=items&x=%2F',
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
      ['/anything', ['/'], true],
    ])('%s in %j: %s', (path, prefixes, allowed) => {
      // Act
      const result = pathAllowed(path, prefixes);

      // Assess
      expect(result).toBe(allowed);
    });
  });

  describe('upstreamUrl', () => {
    it('keeps the base path and origin', () => {
      // Act
      const { url, requestTarget } = upstreamUrl('https://api.example:8443/orders/v2/', {
        rawPath: '/accounts/7',
        query: 'a=1',
      });

      // Assess
      expect(url.origin).toBe('https://api.example:8443');
      expect(requestTarget).toBe('/orders/v2/accounts/7?a=1');
    });

    it("sends path and query bytes as given: no re-encoding of ' or of encoded reserved characters", () => {
      // Act
      const { requestTarget } = upstreamUrl('https://api.example/v2', {
        rawPath: '/people/a%3Bb;v=1/%41',
        query: "name='O''Brien'&x=%2F",
      });

      // Assess
      expect(requestTarget).toBe("/v2/people/a%3Bb;v=1/%41?name='O''Brien'&x=%2F");
    });
  });
});
