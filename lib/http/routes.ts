// The gateway's routes, written once. Read by the Lambda entries (functions/*.ts, through `dispatcher`),
// the local server (lib/local/lambda-http-server.ts) and the OpenAPI builders (lib/http/openapi.ts,
// openapi-requester.ts). serverless.yml's events and infra/private-api.cjs's ROUTES are copies we cannot
// avoid (osls reads YAML, and CommonJS without TypeScript): test/unit/routes.test.ts diffs both against
// this table. Data only, no handler imports: each function bundles only the handlers it names in its own
// map, so the JWKS and health functions never load the token function's code.
import type { Context } from 'aws-lambda';
import type { HttpEvent, HttpResult } from './responses.ts';

/** The Lambda functions of serverless.yml. */
type FunctionName = 'token' | 'jwks' | 'health';

export interface Route {
  /** API Gateway's method; `ANY` is the HTTP API's `*` (serverless.yml `method: "*"`). */
  readonly method: 'GET' | 'POST' | 'DELETE' | 'ANY';
  /** API Gateway's path, with `{name}` parameters and a greedy `{name+}`. */
  readonly path: string;
  /** The function that serves it. */
  readonly fn: FunctionName;
  /** The key of the handler in that function's handler map. */
  readonly handler: string;
  /** `caller`: behind the caller authorizer param callerAuthorization picks; `none`: open (JWKS, health). */
  readonly authorizer: 'caller' | 'none';
  /** The OpenAPI operationId (for `ANY`, the prefix of one operation per method: `callGet`, ...). */
  readonly operation: string;
}

export const ROUTES = [
  {
    method: 'POST',
    path: '/v1/token',
    fn: 'token',
    handler: 'token',
    authorizer: 'caller',
    operation: 'getToken',
  },
  {
    method: 'DELETE',
    path: '/v1/token',
    fn: 'token',
    handler: 'token',
    authorizer: 'caller',
    operation: 'invalidateToken',
  },
  // DELETE /v1/token as a POST, for clients that cannot send a body with DELETE (CICS).
  {
    method: 'POST',
    path: '/v1/token/invalidate',
    fn: 'token',
    handler: 'invalidation',
    authorizer: 'caller',
    operation: 'invalidateTokenByPost',
  },
  {
    method: 'GET',
    path: '/v1/ready',
    fn: 'token',
    handler: 'ready',
    authorizer: 'caller',
    operation: 'getReadiness',
  },
  // Proxy mode: a token request plus one HTTP request.
  {
    method: 'ANY',
    path: '/v1/call/{target}/{path+}',
    fn: 'token',
    handler: 'call',
    authorizer: 'caller',
    operation: 'call',
  },
  // The RFC 6749 facade for z/OS Connect (docs/MAINFRAME.md).
  {
    method: 'POST',
    path: '/oauth2/{target}/token',
    fn: 'token',
    handler: 'facade',
    authorizer: 'caller',
    operation: 'oauthToken',
  },
  {
    method: 'GET',
    path: '/.well-known/jwks.json',
    fn: 'jwks',
    handler: 'jwks',
    authorizer: 'none',
    operation: 'getJwks',
  },
  {
    method: 'GET',
    path: '/health',
    fn: 'health',
    handler: 'health',
    authorizer: 'none',
    operation: 'getHealth',
  },
] as const satisfies readonly Route[];

type TableRoute = (typeof ROUTES)[number];

/** The OpenAPI operations the table names. */
export type OperationName = TableRoute['operation'];

/** The handler names a function's map must provide. */
type HandlerName<F extends FunctionName> = Extract<TableRoute, { fn: F }>['handler'];

export type LambdaHttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult | undefined>;

/** One handler per name the table gives the function: a route without its handler fails to compile. */
export type HandlerMap<F extends FunctionName> = Readonly<Record<HandlerName<F>, LambdaHttpHandler>>;

/** `METHOD path` as API Gateway's route key. */
export function routeKeyOf(route: Pick<Route, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

/** The route with this OpenAPI operation. */
export function routeOf(operation: OperationName): Route {
  return ROUTES.find((route) => route.operation === operation) as Route;
}

/** A path pattern as a regular expression: `{name}` one segment, `{name+}` the rest. */
function pathPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) =>
      segment.endsWith('+}')
        ? '.+'
        : segment.startsWith('{')
          ? '[^/]+'
          : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * The route API Gateway matched for this event: its route key when it carries one (payload 2.0, and 1.0
 * through payload-v1.ts), else its method and path. A path that matches with another method still picks
 * that path's route, whose handler answers 405 as API Gateway would have refused to route it.
 */
export function matchRoute(routes: readonly Route[], event: HttpEvent): Route | undefined {
  const key = event.requestContext?.routeKey ?? event.routeKey;
  const byKey = routes.find((route) => routeKeyOf(route) === key);
  if (byKey) return byKey;
  const path = event.rawPath ?? '';
  const method = event.requestContext?.http?.method;
  const onPath = routes.filter((route) => pathPattern(route.path).test(path));
  return onPath.find((route) => route.method === method || route.method === 'ANY') ?? onPath[0];
}

/** The table's routes a function serves. */
export function routesOf(fn: FunctionName): readonly Route[] {
  return ROUTES.filter((route) => route.fn === fn);
}

/**
 * A function's handler: each event goes to the handler its route names; an event no route matches (only
 * a direct invocation could send one) goes to the function's first route, whose handler refuses it.
 */
export function dispatcher<F extends FunctionName>(fn: F, handlers: HandlerMap<F>): LambdaHttpHandler {
  const routes = routesOf(fn);
  const byName = handlers as Readonly<Record<string, LambdaHttpHandler>>;
  return (event, context) => {
    const route = matchRoute(routes, event) ?? routes[0]!;
    return byName[route.handler]!(event, context);
  };
}

/** The REST API resources whose method is ANY (their payload 1.0 events become `ANY <resource>`). */
export function anyMethodResources(fn: FunctionName): string[] {
  return routesOf(fn)
    .filter((route) => route.method === 'ANY')
    .map((route) => route.path);
}
