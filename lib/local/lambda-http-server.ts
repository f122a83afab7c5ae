import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Context } from 'aws-lambda';
import type { HttpEvent, HttpResult } from '../http/middleware.ts';

export type LambdaHttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult | undefined>;

/** `METHOD path` or `* path` (any method: the handler answers 405 itself) to handler. */
export type Routes = Readonly<Record<string, LambdaHttpHandler>>;

/** Local requests larger than this are cut off before the handler: API Gateway's own payload limit. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

const NOT_FOUND: HttpResult = {
  statusCode: 404,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify({ error: 'not_found', error_description: 'no such route', request_id: 'local' }),
};

/**
 * Serves Lambda handlers over plain HTTP the way API Gateway HTTP APIs do: each request becomes a payload
 * v2 event, the handler's structured result becomes the response. The same handlers run here and in AWS.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
export function createLambdaHttpServer(routes: Routes): Server {
  return createServer((req, res) => {
    serve(routes, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal_error","error_description":"local server failure","request_id":"local"}');
    });
  });
}

async function serve(routes: Routes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const handler = routes[`${method} ${url.pathname}`] ?? routes[`* ${url.pathname}`];
  const body = await readBody(req);
  if (body === undefined) {
    res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
    res.end('{"error":"payload_too_large","error_description":"request too large","request_id":"local"}');
    return;
  }
  const requestId = randomUUID();
  const event = toEvent(req, url, method, body, requestId);
  const result = handler ? ((await handler(event, lambdaContext(requestId))) ?? NOT_FOUND) : NOT_FOUND;
  const headers = { ...result.headers, 'x-request-id': requestId } as Record<
    string,
    string | number | boolean
  >;
  res.writeHead(result.statusCode ?? 200, headers as Record<string, string>);
  res.end(
    method === 'HEAD'
      ? undefined
      : result.isBase64Encoded
        ? Buffer.from(result.body ?? '', 'base64')
        : result.body,
  );
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function toEvent(req: IncomingMessage, url: URL, method: string, body: Buffer, requestId: string): HttpEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
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
    // Like API Gateway: binary-safe, base64 for anything that is not clearly text.
    ...(body.length > 0 ? { body: body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0,
  };
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
