import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/** Every JSON answer, success or error: never cached on the way (tokens, per-caller refusals). */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
};

/**
 * Marks every answer the gateway writes about a failure of its own, so that a caller of /v1/call can tell
 * it apart from the proxied API's answer (which never carries it: the proxy drops the API's own).
 */
export const GATEWAY_ERROR_HEADER = 'x-gateway-error';

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** The characters RFC 6749 5.2 allows in `error_description`: printable ASCII but `"` and `\`. */
export const ERROR_DESCRIPTION_CHARACTERS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

/** Longest `error_description` in an answer. */
const MAX_ERROR_DESCRIPTION = 512;

/**
 * An `error_description` a strict OAuth client accepts, for every error body the gateway writes (the
 * facade's and the JSON API's share the shape): `"` becomes `'`, `\` becomes `/`, anything else outside
 * %x20-21 / %x23-5B / %x5D-7E (controls, non-ASCII) becomes `?`; at most 512 characters.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export function errorDescription(text: string): string {
  return text
    .slice(0, MAX_ERROR_DESCRIPTION)
    .replace(/"/g, "'")
    .replace(/\\/g, '/')
    .replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?');
}

export function requestIdOf(event: HttpEvent): string {
  return event.requestContext?.requestId ?? 'unknown';
}
