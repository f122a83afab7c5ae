// The route table (lib/http/routes.ts) against the copies we cannot avoid: serverless.yml's events (osls
// reads YAML) and infra/private-api.cjs (osls requires CommonJS). Adding a route means one table entry
// plus its handler; this test names every copy that still lacks it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { HttpEvent } from '#lib/http/responses.ts';
import { dispatcher, matchRoute, ROUTES, type Route, routeKeyOf, routesOf } from '#lib/http/routes.ts';

const require = createRequire(import.meta.url);
const privateApi = require('../../infra/private-api.cjs') as {
  ROUTES: Array<{ method: string; path: string; fn: string; caller: boolean }>;
  HTTP_API_TOKEN_RESOURCES: string[];
};

type ServerlessFunctions = Record<
  string,
  { events?: Array<{ httpApi?: { method: string; path: string; authorizer?: string } }> }
>;

/** One line per route, `fn METHOD path authorizer`: what every copy must agree on. */
function line(fn: string, method: string, path: string, authorizer: string): string {
  return `${fn} ${method} ${path} ${authorizer}`;
}

const tableLines = (routes: readonly Route[]) =>
  routes.map((route) => line(route.fn, route.method, route.path, route.authorizer));

/** serverless.yml's HTTP API events as route lines (`method: "*"` is the table's ANY). */
function serverlessLines(functions: ServerlessFunctions): string[] {
  return Object.entries(functions).flatMap(([fn, { events = [] }]) =>
    events.flatMap(({ httpApi }) =>
      httpApi
        ? [
            line(
              fn,
              httpApi.method === '*' ? 'ANY' : httpApi.method,
              httpApi.path,
              httpApi.authorizer ? 'caller' : 'none',
            ),
          ]
        : [],
    ),
  );
}

/** What one side has that the other lacks; both empty when they agree. */
function drift(table: readonly string[], copy: readonly string[]) {
  return {
    missingFromCopy: table.filter((entry) => !copy.includes(entry)),
    notInTable: copy.filter((entry) => !table.includes(entry)),
  };
}

function serverlessFunctions(): ServerlessFunctions {
  // CloudFormation tags (!If, !Ref) parse as plain values: only the events are read.
  return parseYaml(readFileSync('serverless.yml', 'utf8'), { logLevel: 'error' }).functions;
}

/** osls's logical id for an HTTP API route: HttpApiRoute, the method, then each path segment. */
function httpApiRouteId(route: Route): string {
  const part = (word: string) => `${word.charAt(0).toUpperCase()}${word.slice(1).toLowerCase()}`;
  const segments = route.path
    .split('/')
    .filter(Boolean)
    .map((segment) => {
      const letters = segment
        .replace(/[{}+]/g, '')
        .replace(/[^A-Za-z0-9]+(.)?/g, (_, c) => (c ? c.toUpperCase() : ''));
      const id = `${letters.charAt(0).toUpperCase()}${letters.slice(1)}`;
      return segment.startsWith('{') ? `${id}Var` : id;
    });
  return `HttpApiRoute${part(route.method)}${segments.join('')}`;
}

describe('route table', () => {
  describe('drift', () => {
    it('reports a route a copy lacks, one only the copy has, and a changed authorizer', () => {
      // Prepare: serverless.yml's events with three deliberate mismatches.
      const functions = structuredClone(serverlessFunctions());
      const events = functions.token!.events!;
      const ready = events.findIndex(({ httpApi }) => httpApi?.path === '/v1/ready');
      events.splice(ready, 1);
      events.push({ httpApi: { method: 'PUT', path: '/v1/token', authorizer: 'x' } });
      delete functions.token!.events!.find(({ httpApi }) => httpApi?.method === 'DELETE')!.httpApi!
        .authorizer;

      // Act
      const result = drift(tableLines(ROUTES), serverlessLines(functions));

      // Assess
      expect(result).toEqual({
        missingFromCopy: ['token DELETE /v1/token caller', 'token GET /v1/ready caller'],
        notInTable: ['token DELETE /v1/token none', 'token PUT /v1/token caller'],
      });
    });
  });

  it("agrees with serverless.yml's HTTP API events", () => {
    // Act
    const result = drift(tableLines(ROUTES), serverlessLines(serverlessFunctions()));

    // Assess
    expect(result).toEqual({ missingFromCopy: [], notInTable: [] });
  });

  it("agrees with the private REST API's routes (infra/private-api.cjs)", () => {
    // Prepare
    const copy = privateApi.ROUTES.map(({ fn, method, path, caller }) =>
      line(fn, method, path, caller ? 'caller' : 'none'),
    );

    // Act
    const result = drift(tableLines(ROUTES), copy);

    // Assess
    expect(result).toEqual({ missingFromCopy: [], notInTable: [] });
  });

  it('takes exactly the caller routes off the public HTTP API in the private deployment', () => {
    // Prepare
    const callerRoutes = ROUTES.filter((route) => route.authorizer === 'caller').map(httpApiRouteId);

    // Act
    const taken = privateApi.HTTP_API_TOKEN_RESOURCES.filter((id) => id.startsWith('HttpApiRoute'));

    // Assess
    expect(taken.sort()).toEqual(callerRoutes.sort());
  });

  it('names each route once, each operation once', () => {
    // Assess
    const keys = ROUTES.map(routeKeyOf);
    expect(new Set(keys).size).toBe(keys.length);
    const operations = ROUTES.map((route) => route.operation);
    expect(new Set(operations).size).toBe(operations.length);
  });
});

/** A path with each parameter filled in, as a caller would send it. */
const concrete = (path: string) => path.replace('{target}', 'demo').replace('{path+}', 'a/b');

function event(fields: { routeKey?: string; method: string; rawPath: string }): HttpEvent {
  return {
    rawPath: fields.rawPath,
    ...(fields.routeKey ? { routeKey: fields.routeKey } : {}),
    requestContext: {
      http: { method: fields.method },
      ...(fields.routeKey ? { routeKey: fields.routeKey } : {}),
    },
  } as unknown as HttpEvent;
}

describe('matchRoute', () => {
  it.each(ROUTES.map((route) => [routeKeyOf(route), route] as const))(
    'finds %s by its route key',
    (key, route) => {
      // Act
      const result = matchRoute(
        routesOf(route.fn),
        event({ routeKey: key, method: 'POST', rawPath: '/elsewhere' }),
      );

      // Assess
      expect(result).toBe(route);
    },
  );

  it.each(ROUTES.map((route) => [routeKeyOf(route), route] as const))(
    'finds %s by method and path without a route key',
    (_, route) => {
      // Prepare
      const method = route.method === 'ANY' ? 'PATCH' : route.method;

      // Act
      const result = matchRoute(routesOf(route.fn), event({ method, rawPath: concrete(route.path) }));

      // Assess
      expect(result).toBe(route);
    },
  );

  it("picks a path's route for another method, whose handler answers 405", () => {
    // Act
    const result = matchRoute(ROUTES, event({ method: 'PUT', rawPath: '/v1/token/invalidate' }));

    // Assess
    expect(result?.handler).toBe('invalidation');
  });

  it('does not take a longer path for a shorter one', () => {
    // Act
    const result = matchRoute(ROUTES, event({ method: 'POST', rawPath: '/oauth2/demo/token/more' }));

    // Assess
    expect(result).toBeUndefined();
  });
});

describe('dispatcher', () => {
  it("sends each of the token function's routes to the handler the table names", async () => {
    // Prepare
    const names = ['token', 'invalidation', 'ready', 'call', 'facade'] as const;
    const handlers = Object.fromEntries(
      names.map((name) => [name, async () => ({ statusCode: 200, body: name })]),
    ) as unknown as Parameters<typeof dispatcher<'token'>>[1];
    const handle = dispatcher('token', handlers);

    // Act
    const answered = await Promise.all(
      routesOf('token').map(async (route) => {
        const method = route.method === 'ANY' ? 'GET' : route.method;
        const result = await handle(event({ method, rawPath: concrete(route.path) }), {} as never);
        return `${routeKeyOf(route)} -> ${result?.body}`;
      }),
    );

    // Assess
    expect(answered).toEqual([
      'POST /v1/token -> token',
      'DELETE /v1/token -> token',
      'POST /v1/token/invalidate -> invalidation',
      'GET /v1/ready -> ready',
      'ANY /v1/call/{target}/{path+} -> call',
      'POST /oauth2/{target}/token -> facade',
    ]);
  });

  it("sends an event no route matches to the function's first route", async () => {
    // Prepare
    const handle = dispatcher('health', { health: async () => ({ statusCode: 405, body: 'health' }) });

    // Act
    const result = await handle(event({ method: 'GET', rawPath: '/nowhere' }), {} as never);

    // Assess
    expect(result?.body).toBe('health');
  });
});
