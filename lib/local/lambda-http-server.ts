import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import type { GatewayProvider } from '../composition.ts';
import { healthHandler } from '../http/health-handler.ts';
import { jwksHandler } from '../http/jwks-handler.ts';
import { openApiDocument } from '../http/openapi.ts';
import { errorDescription, GATEWAY_ERROR_HEADER, type HttpEvent, JSON_HEADERS } from '../http/responses.ts';
import { type LambdaHttpHandler, ROUTES } from '../http/routes.ts';
import { tokenFunctionHandlers } from '../http/token-function-handlers.ts';
import { VERSION } from '../version.ts';

export type { LambdaHttpHandler } from '../http/routes.ts';

/**
 * `METHOD path` or `* path` (any method: the handler answers 405 itself) to handler; a path ending in `/*`
 * is a prefix (API Gateway's greedy `{path+}`), matched on the raw path; a `{name}` segment is an API
 * Gateway path parameter (the event then carries `pathParameters` and the route key, as API Gateway's).
 */
export type Routes = Readonly<Record<string, LambdaHttpHandler>>;

/** Local requests larger than this are cut off before the handler: API Gateway's own payload limit. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** What the local server answers itself is a gateway error too (see GATEWAY_ERROR_HEADER). */
const ERROR_HEADERS = { ...JSON_HEADERS, [GATEWAY_ERROR_HEADER]: 'true' };

/**
 * Per-request state for concurrent requests, as the Lambda runtime keeps it when one execution environment
 * serves several invocations at once (Lambda Managed Instances). Powertools scopes the logger's
 * correlation id to the current invocation through this store once `AWS_LAMBDA_MAX_CONCURRENCY` is set,
 * so concurrent local requests never log under each other's request id. Installed before any request;
 * the variable is set only once it exists, as Powertools refuses the variable without the store.
 */
const invokeStore = await InvokeStore.getInstanceAsync(true);

/**
 * The gateway's routes (lib/http/routes.ts), as `npm start` serves them: by path, whatever the method, so
 * each handler answers 405 itself where API Gateway would refuse to route; a greedy `{path+}` becomes a
 * prefix.
 */
export function gatewayRoutes(gateway: GatewayProvider): Routes {
  const openapi = JSON.stringify(openApiDocument(VERSION));
  const handlers = {
    token: tokenFunctionHandlers(gateway),
    jwks: { jwks: jwksHandler(gateway) },
    health: { health: healthHandler() },
  };
  const byName = (fn: keyof typeof handlers, name: string) =>
    (handlers[fn] as Readonly<Record<string, LambdaHttpHandler>>)[name]!;
  return {
    ...Object.fromEntries(
      ROUTES.map((route) => {
        // Proxy mode parses its own target and path from the raw path: a prefix route serves it.
        const path = route.path.includes('+}')
          ? `${route.path.slice(0, route.path.indexOf('/{'))}/*`
          : route.path;
        return [`* ${path}`, byName(route.fn, route.handler)];
      }),
    ),
    'GET /openapi.json': async () => ({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: openapi,
    }),
  };
}

/**
 * Serves Lambda handlers over plain HTTP the way API Gateway HTTP APIs do: each request becomes a payload
 * v2 event, the handler's structured result becomes the response. The same handlers run here and in AWS.
 * Whatever the local server answers itself (no route, too large, unparseable) uses the API's error body.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
export function createLambdaHttpServer(routes: Routes): Server {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    serve(routes, req, res).catch(() => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = errorBody('internal_error', 'local server failure', randomUUID());
      res.writeHead(500, ERROR_HEADERS).end(body);
    });
  };
  const server = createServer(listener);
  // Node would answer an unknown `Expect` with a bare 417; API Gateway passes the request on.
  server.on('checkExpectation', listener);
  // Node answers what it cannot parse (unknown method, oversized headers) with an empty body, and drops
  // CONNECT without a word; answer both in the API's own error format instead.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const description =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? 'the request headers are too large'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'the request was not received in time'
          : 'the request is not valid HTTP';
    // A HEAD answer has no body; the failed request's first bytes tell, as far as Node kept them.
    const packet = (error as { rawPacket?: Buffer }).rawPacket;
    const head = packet?.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.end(rawResponse(400, errorBody('invalid_request', description, randomUUID()), head));
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end(rawResponse(405, errorBody('method_not_allowed', 'CONNECT is not supported', randomUUID())));
  });
  return server;
}

async function serve(routes: Routes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const method = req.method ?? 'GET';
  const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { ...ERROR_HEADERS, ...headers, 'x-request-id': requestId });
    res.end(method === 'HEAD' ? undefined : body);
  };
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // An absolute-form request target that is not a URL, e.g. `GET http://[ HTTP/1.1`.
    answer(400, errorBody('invalid_request', 'the request target is not a valid URL', requestId));
    return;
  }
  // The path exactly as sent, as API Gateway passes it in rawPath: URL parsing would already resolve dot
  // segments and backslashes, which the proxy must see to refuse. An absolute-form target
  // (`GET http://host/v1/call/...`, RFC 9112 3.2.2) is the same path after its scheme and authority.
  const sent = req.url ?? '/';
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(sent);
  const target = authority ? sent.slice(authority[0].length) || '/' : sent;
  const query = target.indexOf('?');
  const rawPath = !target.startsWith('/') ? url.pathname : query < 0 ? target : target.slice(0, query);
  const rawQuery = query < 0 ? '' : target.slice(query + 1);
  const parameterized = parameterRoute(routes, method, url.pathname);
  const handler =
    prefixRoute(routes, rawPath) ??
    routes[`${method} ${url.pathname}`] ??
    routes[`* ${url.pathname}`] ??
    parameterized?.handler;
  const body = await readBody(req);
  if (body === undefined) {
    const description = `the request exceeds ${MAX_REQUEST_BYTES} bytes`;
    answer(413, errorBody('payload_too_large', description, requestId), { connection: 'close' });
    return;
  }
  if (!handler) {
    answer(404, errorBody('not_found', 'no such route', requestId));
    return;
  }
  const event = toEvent(req, url, { rawPath, rawQuery }, method, body, requestId);
  if (parameterized && handler === parameterized.handler) {
    event.pathParameters = parameterized.pathParameters;
    event.routeKey = parameterized.routeKey;
    event.requestContext.routeKey = parameterized.routeKey;
  }
  const context = { [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId };
  const result = await invokeStore.run(context, () => handler(event, lambdaContext(requestId)));
  if (!result) {
    answer(500, errorBody('internal_error', 'the handler returned no response', requestId));
    return;
  }
  const headers: Record<string, string | string[]> = {
    ...(result.headers as Record<string, string>),
    'x-request-id': requestId,
  };
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(
    method === 'HEAD'
      ? undefined
      : result.isBase64Encoded
        ? Buffer.from(result.body ?? '', 'base64')
        : result.body,
  );
}

function prefixRoute(routes: Routes, rawPath: string): LambdaHttpHandler | undefined {
  for (const [key, handler] of Object.entries(routes)) {
    if (!key.endsWith('/*')) continue;
    const prefix = key.slice(key.indexOf(' ') + 1, -1);
    if (rawPath.startsWith(prefix)) return handler;
  }
  return undefined;
}

interface ParameterRoute {
  readonly handler: LambdaHttpHandler;
  readonly routeKey: string;
  readonly pathParameters: Record<string, string>;
}

/** The first route with `{name}` segments whose pattern matches the path, and the parameters it names. */
function parameterRoute(routes: Routes, method: string, path: string): ParameterRoute | undefined {
  for (const [key, handler] of Object.entries(routes)) {
    const [routeMethod, pattern = ''] = key.split(' ');
    if (!pattern.includes('{') || (routeMethod !== '*' && routeMethod !== method)) continue;
    const names: string[] = [];
    const source = pattern
      .split('/')
      .map((segment) => {
        const parameter = /^\{([A-Za-z0-9_]+)\}$/.exec(segment);
        if (!parameter) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(parameter[1]!);
        return '([^/]+)';
      })
      .join('/');
    const match = new RegExp(`^${source}$`).exec(path);
    if (!match) continue;
    const pathParameters: Record<string, string> = {};
    names.forEach((name, index) => {
      const value = match[index + 1]!;
      try {
        pathParameters[name] = decodeURIComponent(value);
      } catch {
        pathParameters[name] = value;
      }
    });
    return { handler, routeKey: `${routeMethod === '*' ? method : routeMethod} ${pattern}`, pathParameters };
  }
  return undefined;
}

function errorBody(error: string, description: string, requestId: string): string {
  return JSON.stringify({ error, error_description: errorDescription(description), request_id: requestId });
}

/** A complete HTTP/1.1 response for a socket Node's HTTP layer has not wrapped in a response object. */
function rawResponse(status: number, body: string, head = false): string {
  const reason = status === 405 ? 'Method Not Allowed' : 'Bad Request';
  return [
    `HTTP/1.1 ${status} ${reason}`,
    'content-type: application/json',
    'cache-control: no-store',
    'x-gateway-error: true',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    '',
    head ? '' : body,
  ].join('\r\n');
}

/** Reads the body with plain events: async iteration of the request stream costs more than the rest. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** API Gateway passes textual bodies as text and everything else as base64; so does this server. */
const TEXTUAL = /^(application\/(json|[^;]*\+json|x-www-form-urlencoded)|text\/)/i;

function toEvent(
  req: IncomingMessage,
  url: URL,
  raw: { rawPath: string; rawQuery: string },
  method: string,
  body: Buffer,
  requestId: string,
): HttpEvent {
  // As API Gateway passes them: repeated headers joined with "," (Node would join most with ", "), and
  // values decoded as UTF-8 (Node decodes them as Latin-1; an undecodable byte becomes U+FFFD).
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values === undefined) continue;
    headers[name.toLowerCase()] = name === 'cookie' ? (req.headers.cookie ?? '') : values.map(utf8).join(',');
  }
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: raw.rawPath,
    rawQueryString: raw.rawQuery,
    headers,
    ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...bodyOf(body, headers['content-type']),
  };
}

/** A header value Node read as Latin-1, read as the UTF-8 its bytes are. */
function utf8(value: string): string {
  return /[\u0080-\uffff]/.test(value) ? Buffer.from(value, 'latin1').toString('utf8') : value;
}

function bodyOf(body: Buffer, contentType: string | undefined): { body?: string; isBase64Encoded: boolean } {
  if (body.length === 0) return { isBase64Encoded: false };
  const text = TEXTUAL.test(contentType ?? '') ? body.toString('utf8') : undefined;
  // Only valid UTF-8 stays text: a JSON-labelled binary body must reach the handler byte for byte.
  if (text !== undefined && !text.includes('\uFFFD')) return { body: text, isBase64Encoded: false };
  return { body: body.toString('base64'), isBase64Encoded: true };
}

function lambdaContext(requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'jwt-bearer-gateway-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:jwt-bearer-gateway-local',
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
