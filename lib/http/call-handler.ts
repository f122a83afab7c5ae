import type { GatewayProvider } from '../composition.ts';
import { PROXY_BODY_LIMIT_BYTES, PROXY_METHODS } from '../config/proxy-limits.ts';
import { flushMetrics } from '../observability/metrics.ts';
import { ApiError } from './api-errors.ts';
import { callerCredentials } from './caller-credentials.ts';
import { ebcdicBodyError, ebcdicCodePage } from './ebcdic.ts';
import { requestDeadline } from './handlers.ts';
import { type HttpEvent, type HttpResult, requestIdOf } from './middleware.ts';
import { route } from './route.ts';

/**
 * `ANY /v1/call/{target}/{path+}`: proxy mode. The caller's credential and the end user in `x-subject`
 * go in, the proxied API's status, headers and body come out. The body is always returned base64-encoded
 * (`isBase64Encoded`), so API Gateway hands the caller the API's bytes unchanged, binary or not, and
 * the size bound is exact. Failures of the gateway itself are the usual error body plus
 * `x-gateway-error: true`.
 */
export function callHandler(gateway: GatewayProvider) {
  return route(...PROXY_METHODS)
    .use(flushMetrics())
    .handler(async (event, context): Promise<HttpResult> => {
      const requestId = requestIdOf(event);
      const deadline = requestDeadline(context);
      const body = requestBody(event);
      const { audited, policy, proxy } = await gateway();
      // One audit event per call, its token retry included; identifying the caller may read API key
      // hashes (Secrets Manager), bounded by the deadline like everything inside.
      const response = await audited('call', { requestId, deadline }, async (facts) => {
        const parsed = proxy.parse({
          method: event.requestContext.http.method,
          rawPath: event.rawPath ?? event.requestContext.http.path,
          rawQuery: event.rawQueryString ?? '',
          headers: event.headers ?? {},
          body,
          requestId,
          deadline,
        });
        const caller = await policy.identify(callerCredentials(event));
        facts.caller = caller;
        return proxy.call(caller, parsed);
      });
      const head = event.requestContext.http.method === 'HEAD';
      return {
        statusCode: response.status,
        headers: response.headers,
        ...(response.cookies.length > 0 ? { cookies: response.cookies } : {}),
        body: head ? '' : response.body.toString('base64'),
        isBase64Encoded: true,
      };
    });
}

/**
 * The API's body is its own business, except that a body labelled JSON which is not UTF-8 but is JSON
 * in EBCDIC was sent by a program that forgot the code page: the API would get bytes it cannot read
 * (RFC 8259 8.1: JSON exchanged between systems is UTF-8), so the gateway says what went wrong instead.
 */
function refuseEbcdicJson(body: Buffer, contentType: string | undefined): void {
  if (!/^application\/(json|[^;\s]*\+json)\s*(;|$)/i.test(contentType ?? '')) return;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    const codePage = ebcdicCodePage(body, 'json');
    if (codePage) throw ebcdicBodyError(codePage);
  }
}

/** The body as bytes, refused above the platform bound before anything else is done with it. */
function requestBody(event: HttpEvent): Buffer | undefined {
  if (!event.body) return undefined;
  // A base64 string's decoded size, without decoding something that may be too large to keep.
  const size = event.isBase64Encoded
    ? Math.floor((event.body.length * 3) / 4)
    : Buffer.byteLength(event.body, 'utf8');
  if (size > PROXY_BODY_LIMIT_BYTES + 2) {
    throw new ApiError('payload_too_large', `the body exceeds ${PROXY_BODY_LIMIT_BYTES} bytes`);
  }
  const body = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (body.length > PROXY_BODY_LIMIT_BYTES) {
    throw new ApiError('payload_too_large', `the body exceeds ${PROXY_BODY_LIMIT_BYTES} bytes`);
  }
  refuseEbcdicJson(body, event.headers?.['content-type']);
  return body;
}
