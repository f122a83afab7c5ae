import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context } from 'aws-lambda';

/**
 * API Gateway HTTP API (payload format 2.0) events as AWS documents and sends them to a Lambda
 * integration: header names lower-cased, duplicate headers joined with commas, `requestContext.http`,
 * the mutual TLS client certificate under `requestContext.authentication.clientCert`, and whatever the
 * route's authorizer produced under `requestContext.authorizer` (`iam` for IAM authorization, `lambda`
 * for the context a Lambda authorizer returned).
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
 */

interface ClientCertificate {
  readonly clientCertPem: string;
  readonly subjectDN: string;
  readonly issuerDN: string;
  readonly serialNumber: string;
  readonly validity: { readonly notBefore: string; readonly notAfter: string };
}

/** `requestContext.authorizer.iam` of a route with IAM authorization (SigV4-signed requests). */
interface IamIdentity {
  readonly accessKey: string;
  readonly accountId: string;
  readonly callerId: string;
  readonly cognitoIdentity: null;
  readonly principalOrgId: string;
  readonly userArn: string;
  readonly userId: string;
}

export interface HttpApiEventOptions {
  readonly method?: string;
  /** Path and optional query string, e.g. `/v1/token?x=1`. */
  readonly path?: string;
  /** Extra or replacing headers, any case: API Gateway lower-cases the names. A repeated header is one
   * comma-joined value. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Headers to leave out of the defaults (e.g. `content-type`). */
  readonly omitHeaders?: readonly string[];
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
  /** Send the body base64-encoded with `isBase64Encoded: true`, as API Gateway does for binary media. */
  readonly base64?: boolean;
  readonly clientCert?: Partial<ClientCertificate> & { readonly subjectDN: string };
  readonly iam?: Partial<IamIdentity> & { readonly userArn: string };
  /** The `context` a Lambda authorizer returned (simple or IAM policy response). */
  readonly lambdaAuthorizer?: Readonly<Record<string, unknown>>;
  readonly requestId?: string;
  readonly sourceIp?: string;
}

const ACCOUNT_ID = '123456789012';
const API_ID = 'r3pmxmplak';
const DOMAIN = `${API_ID}.execute-api.eu-west-1.amazonaws.com`;
const USER_AGENT = 'IBM z/OS Connect EE/3.0';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An HTTP API request id as API Gateway generates it, e.g. `JKJaXmPLvHcESHA=`. */
function apiGatewayRequestId(): string {
  return randomBytes(11).toString('base64');
}

/** A client certificate as API Gateway describes it to the integration after the TLS handshake. */
function clientCertificate(subjectDN: string, extra: Partial<ClientCertificate> = {}): ClientCertificate {
  return {
    clientCertPem: '-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n',
    subjectDN,
    issuerDN: 'CN=Example Corp Issuing CA 1,O=Example Corp,C=US',
    serialNumber: '4a:1f:9c:02:7e:5b:33:10',
    validity: { notBefore: 'May 28 12:30:02 2025 GMT', notAfter: 'Aug  5 09:36:04 2027 GMT' },
    ...extra,
  };
}

/** An IAM principal as API Gateway reports it for a SigV4-signed request on an IAM-authorized route. */
function iamIdentity(userArn: string, extra: Partial<IamIdentity> = {}): IamIdentity {
  const arn = String(userArn ?? '');
  const session = arn.split('/').at(-1) ?? 'session';
  const userId = arn.includes(':assumed-role/') ? `AROAEXAMPLEID4MXMPL:${session}` : 'AIDAEXAMPLEID4MXMPL';
  return {
    accessKey: 'ASIAEXAMPLE4MXMPLKEY',
    accountId: ACCOUNT_ID,
    callerId: userId,
    cognitoIdentity: null,
    principalOrgId: 'o-abcdef1234',
    userArn,
    userId,
    ...extra,
  };
}

/** `$context.requestTime` format: `12/Mar/2020:19:03:58 +0000`. */
function requestTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(
    date.getUTCHours(),
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export function httpApiEvent(options: HttpApiEventOptions = {}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'POST';
  const [rawPath = '/', rawQueryString = ''] = (options.path ?? '/v1/token').split(/\?(.*)/s);
  const text =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const bytes = text === undefined ? undefined : Buffer.from(text, 'utf8');
  const requestId = options.requestId ?? apiGatewayRequestId();
  const now = new Date();
  const sourceIp = options.sourceIp ?? '192.0.2.17';
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/json',
    host: DOMAIN,
    'user-agent': USER_AGENT,
    'x-amzn-trace-id': `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
    'x-forwarded-for': sourceIp,
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
    ...(bytes ? { 'content-length': String(bytes.length) } : {}),
  };
  for (const name of options.omitHeaders ?? []) delete headers[name.toLowerCase()];
  // Format 2.0 has no multiValueHeaders: pass a repeated header as one comma-joined value.
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  const authorizer = {
    ...(options.iam ? { iam: iamIdentity(options.iam.userArn, options.iam) } : {}),
    ...(options.lambdaAuthorizer ? { lambda: { ...options.lambdaAuthorizer } } : {}),
  };
  const routeKey = `${method} ${rawPath}`;
  const event = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    ...(rawQueryString
      ? { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) }
      : {}),
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: API_ID,
      ...(options.clientCert
        ? {
            authentication: {
              clientCert: clientCertificate(options.clientCert.subjectDN, options.clientCert),
            },
          }
        : {}),
      ...(Object.keys(authorizer).length > 0 ? { authorizer } : {}),
      domainName: DOMAIN,
      domainPrefix: API_ID,
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId,
      routeKey,
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(bytes ? { body: options.base64 ? bytes.toString('base64') : text } : {}),
    isBase64Encoded: Boolean(bytes && options.base64),
  };
  return event as APIGatewayProxyEventV2;
}

/** The Lambda context object the runtime passes with each invocation. */
export function lambdaContext(requestId = randomBytes(16).toString('hex')): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'jwt-bearer-gateway-token',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:${ACCOUNT_ID}:function:jwt-bearer-gateway-token`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/jwt-bearer-gateway-token',
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface RestApiEventOptions {
  readonly method?: string;
  /** The REST API resource the request matched, e.g. `/v1/call/{target}/{path+}`. */
  readonly resource: string;
  /** The path as sent, percent-encoding intact, without the stage, plus an optional query string. */
  readonly path: string;
  readonly pathParameters?: Readonly<Record<string, string>>;
  /** Header names as the client sent them (1.0 keeps their case); a list is a repeated header. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Bytes or text; with the REST API's binary media type `*\/*` every body arrives base64-encoded. */
  readonly body?: string | Buffer;
  /** Whether API Gateway base64-encoded the body (default: yes, as with binary media type `*\/*`). */
  readonly base64?: boolean;
  /** The principal of a SigV4-signed request on an AWS_IAM method. */
  readonly userArn?: string;
  readonly requestId?: string;
  readonly stage?: string;
  readonly vpceId?: string;
}

/**
 * An API Gateway REST API Lambda proxy event (payload format 1.0) as a private API sends it: header names
 * as sent, with `multiValueHeaders`; query parameters decoded, with `multiValueQueryStringParameters`;
 * `path` without the stage, percent-encoding intact; `requestContext.identity` with the caller's address,
 * the VPC endpoint it came through and, on an AWS_IAM method, the IAM principal.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
 */
export function restApiEvent(options: RestApiEventOptions): APIGatewayProxyEvent {
  const method = options.method ?? 'POST';
  const stage = options.stage ?? 'gateway';
  const [path = '/', query = ''] = options.path.split(/\?(.*)/s);
  const now = new Date();
  const sourceIp = '10.20.30.40';
  const multiValueHeaders: Record<string, string[]> = {
    Accept: ['*/*'],
    Host: [`${API_ID}.execute-api.eu-west-1.amazonaws.com`],
    'User-Agent': [USER_AGENT],
    'X-Amzn-Trace-Id': [
      `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
    ],
    'X-Forwarded-For': [sourceIp],
    'X-Forwarded-Port': ['443'],
    'X-Forwarded-Proto': ['https'],
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    multiValueHeaders[name] = typeof value === 'string' ? [value] : [...value];
  }
  const bytes = options.body === undefined ? undefined : Buffer.from(options.body);
  if (bytes) multiValueHeaders['Content-Length'] = [String(bytes.length)];
  const multiValueQueryStringParameters: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(query)) {
    multiValueQueryStringParameters[name] = [...(multiValueQueryStringParameters[name] ?? []), value];
  }
  const hasQuery = Object.keys(multiValueQueryStringParameters).length > 0;
  const base64 = options.base64 ?? true;
  const requestId =
    options.requestId ??
    randomBytes(16)
      .toString('hex')
      .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
  const event = {
    resource: options.resource,
    path,
    httpMethod: method,
    // 1.0's `headers` holds the last value of each; `multiValueHeaders` all of them.
    headers: Object.fromEntries(
      Object.entries(multiValueHeaders).map(([name, values]) => [name, values.at(-1)]),
    ),
    multiValueHeaders,
    queryStringParameters: hasQuery
      ? Object.fromEntries(
          Object.entries(multiValueQueryStringParameters).map(([name, values]) => [name, values.at(-1)]),
        )
      : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQueryStringParameters : null,
    pathParameters: options.pathParameters ? { ...options.pathParameters } : null,
    stageVariables: null,
    requestContext: {
      resourceId: 'a1b2c3',
      resourcePath: options.resource,
      httpMethod: method,
      extendedRequestId: randomBytes(11).toString('base64'),
      requestTime: requestTime(now),
      path: `/${stage}${path}`,
      accountId: ACCOUNT_ID,
      protocol: 'HTTP/1.1',
      stage,
      domainPrefix: API_ID,
      requestTimeEpoch: now.getTime(),
      requestId,
      identity: {
        cognitoIdentityPoolId: null,
        cognitoIdentityId: null,
        apiKey: null,
        principalOrgId: options.userArn ? 'o-abcdef1234' : null,
        cognitoAuthenticationType: null,
        userArn: options.userArn ?? null,
        apiKeyId: null,
        userAgent: USER_AGENT,
        accountId: options.userArn ? ACCOUNT_ID : null,
        caller: options.userArn ? 'AROAEXAMPLEID4MXMPL:batch' : null,
        sourceIp,
        accessKey: options.userArn ? 'ASIAEXAMPLE4MXMPLKEY' : null,
        cognitoAuthenticationProvider: null,
        user: options.userArn ? 'AROAEXAMPLEID4MXMPL:batch' : null,
        vpceId: options.vpceId ?? 'vpce-0123456789abcdef0',
        vpcId: 'vpc-0a1b2c3d4e5f60718',
        clientCert: null,
      },
      domainName: `${API_ID}.execute-api.eu-west-1.amazonaws.com`,
      apiId: API_ID,
    },
    body: bytes ? (base64 ? bytes.toString('base64') : bytes.toString('utf8')) : null,
    isBase64Encoded: Boolean(bytes && base64),
  };
  return event as unknown as APIGatewayProxyEvent;
}
