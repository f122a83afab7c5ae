import type { Context } from 'aws-lambda';
import { VERSION } from '../version.ts';
import type { ApiErrorCode } from './api-errors.ts';
import {
  GATEWAY_ERROR_HEADER,
  type HttpEvent,
  type HttpResult,
  jsonResponse,
  requestIdOf,
} from './responses.ts';

const METHODS = ['GET', 'HEAD'];

/**
 * `GET /health`: liveness and version; no configuration, no secrets. Deliberately outside the middy and
 * Powertools stack the other routes share: a liveness answer needs none of it, and without it the health
 * function's bundle is a few kB and its cold start about that of Node itself (docs/PERFORMANCE.md). The
 * answers are those of the shared stack: the same headers, the same 405 body with an Allow header, and the
 * same `request refused` log line with the Lambda context, for which the logger is loaded only then.
 */
export function healthHandler() {
  return async (event: HttpEvent, context?: Context): Promise<HttpResult> => {
    const method = event.requestContext?.http?.method ?? '';
    if (METHODS.includes(method)) return jsonResponse(200, { status: 'ok', version: VERSION });
    const error: ApiErrorCode = 'method_not_allowed';
    const requestId = requestIdOf(event);
    const { logger } = await import('../observability/logger.ts');
    if (context) logger.addContext(context);
    logger.setCorrelationId(requestId);
    logger.info('request refused', { error, status: 405 });
    return jsonResponse(
      405,
      { error, error_description: `use ${METHODS.join(' or ')}`, request_id: requestId },
      { allow: METHODS.join(', '), [GATEWAY_ERROR_HEADER]: 'true' },
    );
  };
}
