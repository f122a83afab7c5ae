import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { allowMethods, apiErrorHandler, correlationId } from './middleware.ts';
import type { HttpEvent, HttpResult } from './responses.ts';

/** The middleware every route shares: header normalization, correlation id, method check, error model. */
export function route(...methods: string[]) {
  return middy<HttpEvent, HttpResult>()
    .use(httpHeaderNormalizer())
    .use(correlationId())
    .use(allowMethods(...methods))
    .use(apiErrorHandler());
}
