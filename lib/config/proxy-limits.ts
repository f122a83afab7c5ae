/** HTTP methods a proxied target may allow (CONNECT and TRACE never: they are no API calls). */
export const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * The largest request or response body proxy mode carries, in bytes. API Gateway HTTP APIs take 10 MB, but
 * a Lambda integration is invoked synchronously, whose request and response payloads are each at most 6 MB
 * (the whole event or result as JSON). Binary bodies travel base64-encoded (4/3 as large), and the
 * gateway always returns the API's body base64-encoded so any bytes arrive unchanged: 4 MiB becomes
 * 5.59 MB, leaving room for the headers and the JSON around them.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
export const PROXY_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * Hop-by-hop headers: meant for one connection, never forwarded in either direction.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */
export const HOP_BY_HOP_HEADERS = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
] as const;

/**
 * Request headers the gateway owns on a proxied call: the caller's credentials, hop-by-hop headers and
 * what the HTTP client computes. Neither the caller nor a target's fixed headers can set them.
 */
export const GATEWAY_OWNED_HEADERS = [
  'authorization',
  'x-api-key',
  'x-subject',
  'x-subject-token',
  'cookie',
  'host',
  'content-length',
  'expect',
  ...HOP_BY_HOP_HEADERS,
] as const;
