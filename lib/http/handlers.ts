import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { GatewayProvider } from '../composition.ts';
import { withDeadline } from '../deadline.ts';
import { GatewayError } from '../errors.ts';
import { logger } from '../observability/logger.ts';
import { flushMetrics } from '../observability/metrics.ts';
import { VERSION } from '../version.ts';
import { callerCredentials } from './caller-credentials.ts';
import {
  allowMethods,
  apiErrorHandler,
  correlationId,
  type HttpEvent,
  type HttpResult,
  jsonResponse,
  parseJsonBody,
  requestIdOf,
} from './middleware.ts';
import {
  type ReadinessResponseBody,
  type TokenInvalidationResponseBody,
  type TokenResponseBody,
  tokenInvalidationBody,
  tokenRequestBody,
} from './schemas.ts';

/** Refused before parsing: a token request is a few hundred bytes, an invalidation carries a token (8 KiB at most). */
export const MAX_BODY_BYTES = 16 * 1024;

/** Time kept back from the invocation's remaining time to shape and send the answer. */
export const DEADLINE_MARGIN_MS = 1_000;

/**
 * Should a request overrun its own deadline anyway, middy answers this long before Lambda would kill the
 * invocation, with a retryable 504 (its default would be a TimeoutError, an `internal_error`).
 * @see https://middy.js.org/docs/writing-middlewares/timeouts/
 */
const LAMBDA_TIMEOUT_MARGIN_MS = 500;

/** Epoch milliseconds by which this invocation must have its answer ready. */
export function requestDeadline(context: { getRemainingTimeInMillis?: () => number }): number {
  return Date.now() + (context.getRemainingTimeInMillis?.() ?? 30_000) - DEADLINE_MARGIN_MS;
}

/**
 * A middy handler with the Lambda context in every log line (function name, version, cold start, request
 * id), whose overrun ends in a retryable timeout answer, never middy's 500.
 */
export function deadlineBoundHandler() {
  return middy<HttpEvent, HttpResult>({
    timeoutEarlyInMillis: LAMBDA_TIMEOUT_MARGIN_MS,
    timeoutEarlyResponse: () => {
      throw new GatewayError('ERR_DEADLINE_EXCEEDED', 'the Lambda invocation is about to time out');
    },
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}

/** The middleware every route shares: header normalization, correlation id, method check, error model. */
export function route(...methods: string[]) {
  return deadlineBoundHandler()
    .use(httpHeaderNormalizer())
    .use(correlationId())
    .use(allowMethods(...methods))
    .use(apiErrorHandler());
}

/**
 * `POST /v1/token`: parse, ask the broker, shape the response (`Cache-Status` says what the cache did).
 * `DELETE /v1/token`: the same body plus the `access_token` an API refused; drops it from the cache if it
 * is still the cached one.
 */
export function tokenHandler(gateway: GatewayProvider) {
  return route('POST', 'DELETE')
    .use(flushMetrics())
    .handler(async (event, context): Promise<HttpResult> => {
      const credentials = callerCredentials(event);
      const requestId = requestIdOf(event);
      // Answer (even with an error) before Lambda or API Gateway give up on us: every AWS call and
      // authorization server attempt below is bounded by this deadline.
      const deadline = requestDeadline(context);
      if (event.requestContext.http.method === 'DELETE') {
        const { access_token: accessToken, ...request } = parseJsonBody(event, tokenInvalidationBody, {
          maxBytes: MAX_BODY_BYTES,
        });
        const { broker } = await gateway();
        const result: TokenInvalidationResponseBody = await broker.invalidateToken(
          credentials,
          { ...request, deadline },
          accessToken,
          requestId,
        );
        return jsonResponse(200, result);
      }
      const body = parseJsonBody(event, tokenRequestBody, { maxBytes: MAX_BODY_BYTES });
      const { broker } = await gateway();
      const token = await broker.getToken(credentials, { ...body, deadline }, requestId);
      const response: TokenResponseBody = {
        access_token: token.accessToken,
        token_type: token.tokenType,
        expires_in: token.expiresIn,
        expires_at: token.expiresAt,
        // Omitted, not "", when nothing was granted: RFC 6749 5.1 makes scope optional in a response.
        ...(token.scope ? { scope: token.scope } : {}),
      };
      // RFC 6749 5.1: responses carrying tokens must not be cached.
      return jsonResponse(200, response, { pragma: 'no-cache', 'cache-status': token.cache });
    });
}

/**
 * `GET /v1/ready` (token function): whether every dependency of the token function answers, one result
 * each, for a known caller only (the same credentials as `POST /v1/token`). 200 when all are ready, 503
 * when any is not; the report is shared for 30 s, so polling cannot hammer KMS, Secrets Manager,
 * DynamoDB or an authorization server.
 */
export function readinessHandler(gateway: GatewayProvider) {
  return route('GET').handler(async (event, context): Promise<HttpResult> => {
    const { policy, readiness } = await gateway();
    const deadline = requestDeadline(context);
    // Identifying the caller may read API key hashes from Secrets Manager: bounded like everything else.
    await withDeadline(deadline, () => policy.identify(callerCredentials(event)));
    const report: ReadinessResponseBody = {
      ...(await readiness.report(deadline)),
      request_id: requestIdOf(event),
    };
    return jsonResponse(report.status === 'ready' ? 200 : 503, report);
  });
}

/** `GET /.well-known/jwks.json`: every configured public key, retired ones included. */
export function jwksHandler(gateway: GatewayProvider) {
  return route('GET', 'HEAD').handler(async (_event, context): Promise<HttpResult> => {
    const { keyRing } = await gateway();
    const jwks = await withDeadline(requestDeadline(context), () => keyRing.jwks());
    // Short caching: a rotation must reach authorization servers within minutes.
    return jsonResponse(200, jwks, { 'cache-control': 'public, max-age=300' });
  });
}

/** `GET /health`: liveness and version; no configuration, no secrets. */
export function healthHandler() {
  return route('GET', 'HEAD').handler(
    async (): Promise<HttpResult> => jsonResponse(200, { status: 'ok', version: VERSION }),
  );
}
