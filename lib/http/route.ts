import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { GatewayError } from '../errors.ts';
import { logger } from '../observability/logger.ts';
import { allowMethods, apiErrorHandler, correlationId } from './middleware.ts';
import type { HttpEvent, HttpResult } from './responses.ts';

/** Time kept back from the invocation's remaining time to shape and send the answer. */
const DEADLINE_MARGIN_MS = 1_000;

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
