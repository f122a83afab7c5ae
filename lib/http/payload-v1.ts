import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { HttpEvent, HttpResult } from './responses.ts';

/**
 * API Gateway REST APIs (the private deployment, infra/private-api.cjs) send Lambda proxy integrations
 * payload format 1.0; the HTTP API sends 2.0. The handlers are written against 2.0, so a 1.0 event is
 * turned into the 2.0 shape at the function's entry and the answer back into 1.0: one adapter for every
 * route instead of two readings in each handler. Hand-written: the AWS packages that convert events
 * (Powertools' event handler) bring a router the functions do not use, and the health bundle must stay a
 * few kB.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */

/** A 1.0 event as a REST API sends it, with the request context members the gateway reads. */
export type PayloadV1Event = APIGatewayProxyEvent;

/** Whether an event is payload format 1.0 (a REST API's): it names `httpMethod`, 2.0 names `rawPath`. */
export function isPayloadV1(event: unknown): event is PayloadV1Event {
  return (
    typeof event === 'object' &&
    event !== null &&
    typeof (event as { httpMethod?: unknown }).httpMethod === 'string' &&
    (event as { version?: unknown }).version !== '2.0'
  );
}

export interface PayloadV1Options {
  /**
   * Resources whose REST API method is ANY: their 2.0 route key is `ANY <resource>` (what the HTTP API
   * names them), whatever method the request used. 1.0 events carry only the request's method.
   */
  readonly anyMethodResources?: readonly string[];
}

/**
 * The 2.0 event for a 1.0 one. Header names are lower-cased and repeated values joined with commas, as
 * 2.0 does; `path` is kept as sent (REST APIs keep its percent-encoding, which proxy mode depends on).
 * 1.0 has no raw query string: it is rebuilt from the decoded parameters, each percent-encoded again.
 * The caller identities move to where 2.0 puts them: the IAM principal (`identity.userArn`) to
 * `authorizer.iam`, the mutual TLS certificate (`identity.clientCert`) to `authentication.clientCert`,
 * a Lambda authorizer's `principalId` to `authorizer.lambda`.
 */
export function fromPayloadV1(event: PayloadV1Event, options: PayloadV1Options = {}): HttpEvent {
  const context = event.requestContext ?? ({} as PayloadV1Event['requestContext']);
  const identity = context.identity ?? ({} as PayloadV1Event['requestContext']['identity']);
  const method = String(event.httpMethod).toUpperCase();
  const resource = event.resource ?? context.resourcePath ?? event.path;
  const routeKey = `${options.anyMethodResources?.includes(resource) ? 'ANY' : method} ${resource}`;
  const rawPath = event.path ?? context.path ?? '/';
  const headers = joinedHeaders(event.headers, event.multiValueHeaders);
  const rawQueryString = rawQuery(event.queryStringParameters, event.multiValueQueryStringParameters);
  const userArn = text(identity.userArn);
  const principalId = text((context.authorizer as { principalId?: unknown } | null | undefined)?.principalId);
  const authorizer = {
    ...(userArn
      ? { iam: { userArn, accountId: text(identity.accountId), callerId: text(identity.caller) } }
      : {}),
    ...(principalId ? { lambda: { principalId } } : {}),
  };
  const clientCert = (identity as { clientCert?: { subjectDN?: unknown } | null }).clientCert;
  const v2 = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    ...(rawQueryString
      ? { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) }
      : {}),
    ...(event.pathParameters ? { pathParameters: { ...event.pathParameters } } : {}),
    ...(event.stageVariables ? { stageVariables: { ...event.stageVariables } } : {}),
    requestContext: {
      accountId: context.accountId,
      apiId: context.apiId,
      ...(clientCert && typeof clientCert.subjectDN === 'string' ? { authentication: { clientCert } } : {}),
      ...(Object.keys(authorizer).length > 0 ? { authorizer } : {}),
      domainName: context.domainName ?? headers.host ?? '',
      domainPrefix: context.domainPrefix ?? '',
      http: {
        method,
        path: rawPath,
        protocol: context.protocol ?? 'HTTP/1.1',
        sourceIp: text(identity.sourceIp) ?? '',
        userAgent: text(identity.userAgent) ?? headers['user-agent'] ?? '',
      },
      requestId: context.requestId,
      routeKey,
      stage: context.stage,
      time: context.requestTime ?? '',
      timeEpoch: context.requestTimeEpoch ?? 0,
    },
    ...(event.body !== null && event.body !== undefined ? { body: event.body } : {}),
    isBase64Encoded: Boolean(event.isBase64Encoded),
  };
  return v2 as HttpEvent;
}

/**
 * The 1.0 answer for a 2.0 one: the same status, headers, body and base64 flag; 2.0's `cookies` become
 * `Set-Cookie` values in `multiValueHeaders` (1.0 has no `cookies`).
 */
export function toPayloadV1Result(result: HttpResult): APIGatewayProxyResult {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  const cookies = result.cookies ?? [];
  return {
    statusCode: result.statusCode ?? 200,
    headers,
    ...(cookies.length > 0 ? { multiValueHeaders: { 'set-cookie': [...cookies] } } : {}),
    body: result.body ?? '',
    isBase64Encoded: Boolean(result.isBase64Encoded),
  };
}

/** A 2.0 handler that also answers 1.0 events, in 1.0. */
export function acceptingPayloadV1<Ctx extends Context | undefined>(
  handler: (event: HttpEvent, context: Ctx) => Promise<HttpResult | undefined> | HttpResult | undefined,
  options: PayloadV1Options = {},
) {
  return async (event: HttpEvent | PayloadV1Event, context: Ctx) => {
    if (!isPayloadV1(event)) return handler(event, context);
    const result = await handler(fromPayloadV1(event, options), context);
    return result === undefined ? result : toPayloadV1Result(result);
  };
}

/** Lower-cased names; repeated values (multiValueHeaders, the complete list in 1.0) joined with commas. */
function joinedHeaders(
  single: PayloadV1Event['headers'] | null | undefined,
  multi: PayloadV1Event['multiValueHeaders'] | null | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(single ?? {}))
    if (value !== undefined) headers[name.toLowerCase()] = value;
  for (const [name, values] of Object.entries(multi ?? {})) {
    if (values && values.length > 0) headers[name.toLowerCase()] = values.join(',');
  }
  return headers;
}

/** `a=1&b=x%20y`, from the decoded (multi-value) query parameters of a 1.0 event. */
function rawQuery(
  single: PayloadV1Event['queryStringParameters'] | null | undefined,
  multi: PayloadV1Event['multiValueQueryStringParameters'] | null | undefined,
): string {
  const pairs: string[] = [];
  const entries = multi
    ? Object.entries(multi)
    : Object.entries(single ?? {}).map(([name, value]) => [name, [value]] as const);
  for (const [name, values] of entries) {
    for (const value of values ?? []) {
      if (value !== undefined) pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
    }
  }
  return pairs.join('&');
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
