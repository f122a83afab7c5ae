import type { IncomingHttpHeaders } from 'node:http';
import {
  type AuthorizerCredentialFields,
  isCredentialHeader,
  NO_AUTHORIZER_FIELDS,
} from '../config/credential-fields.ts';
import { GATEWAY_OWNED_HEADERS, HOP_BY_HOP_HEADERS } from '../config/proxy-limits.ts';

/**
 * Hop-by-hop headers: meant for one connection, never forwarded in either direction (plus any header the
 * `Connection` header names).
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */
const HOP_BY_HOP = new Set<string>(HOP_BY_HOP_HEADERS);

const OWNED = new Set<string>(GATEWAY_OWNED_HEADERS);

/** Response headers the gateway sets: API Gateway computes the length; `x-gateway-error` is the gateway's word. */
const GATEWAY_SET = new Set(['content-length', 'x-gateway-error']);

/**
 * Request headers never forwarded besides the gateway-owned ones and the credentials (credential-fields.ts:
 * client certificates, cookies, an IAM caller's STS session token, ...): those about the caller's
 * connection to the gateway, not about the call (forwarding hints an API might build URLs or trust
 * decisions from: `X-Forwarded-Host` is host injection), the overrides some frameworks honour in place of
 * the request line, which would step around the target's method and path allow-lists
 * (`X-HTTP-Method-Override: DELETE`, `X-Original-URL: /admin`), and the rest of an IAM caller's SigV4
 * signature.
 */
const NOT_FORWARDED =
  /^(?:x-forwarded-.*|forwarded|x-real-ip|x-http-method-override|x-http-method|x-method-override|x-original-url|x-rewrite-url|x-original-uri|x-amz-date|x-amz-content-sha256)$/;

/**
 * The headers sent to the proxied API: the caller's, minus its credentials (and any header the
 * deployment's Lambda authorizer reads one from), hop-by-hop headers, connection details and
 * request-line overrides, then the target's fixed headers, the request id and the gateway's Authorization.
 * Names arrive lower-cased (API Gateway payload v2, the header normalizer).
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */
export function upstreamRequestHeaders(
  incoming: Readonly<Record<string, string | undefined>>,
  fixed: Readonly<Record<string, string>>,
  requestId: string,
  authorizer: AuthorizerCredentialFields = NO_AUTHORIZER_FIELDS,
): Record<string, string> {
  const named = connectionNamed(incoming.connection);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || OWNED.has(name) || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (isCredentialHeader(name, authorizer) || NOT_FORWARDED.test(name)) continue;
    headers[name] = asSent(value);
  }
  for (const [name, value] of Object.entries(fixed)) headers[name.toLowerCase()] = value;
  // The caller's own request id wins, so its logs and the API's meet; else the gateway's.
  headers['x-request-id'] = asSent(incoming['x-request-id'] ?? requestId);
  return headers;
}

/**
 * The API's response headers as the caller gets them: hop-by-hop headers (and those `Connection` names),
 * `Content-Length` and an `x-gateway-error` of the API's own dropped; `Set-Cookie` apart, as payload v2 returns
 * cookies. Repeated headers are joined with `, ` as RFC 9110 5.3 allows. A HEAD answer keeps the API's
 * `Content-Length`: it has no body to compute one from, and its length is what HEAD asks for (RFC 9110
 * 9.3.2, 8.6).
 */
export function callerResponseHeaders(
  incoming: IncomingHttpHeaders,
  head = false,
): {
  headers: Record<string, string>;
  cookies: string[];
} {
  const connection = incoming.connection;
  const named = connectionNamed(Array.isArray(connection) ? connection.join(',') : connection);
  const headers: Record<string, string> = {};
  let cookies: string[] = [];
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (GATEWAY_SET.has(name) && !(head && name === 'content-length')) continue;
    if (name === 'set-cookie') cookies = Array.isArray(value) ? value : [value];
    else headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { headers, cookies };
}

/**
 * A header value as the bytes the caller sent: values arrive decoded from UTF-8, and Node writes a
 * string's characters as Latin-1 bytes, so a non-ASCII value goes out as its UTF-8 bytes.
 */
function asSent(value: string): string {
  return /[\u0080-\uffff]/.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value;
}

function connectionNamed(value: string | undefined): Set<string> {
  return new Set(
    (value ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}
