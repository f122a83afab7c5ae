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

export function requestIdOf(event: HttpEvent): string {
  return event.requestContext?.requestId ?? 'unknown';
}
