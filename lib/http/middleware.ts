import type { MiddlewareObj } from '@middy/core';
import * as z from 'zod/mini';
import { describeError, logger } from '../observability/logger.ts';
import { ApiError, toApiError } from './api-errors.ts';
import { ebcdicBodyError, ebcdicCodePage } from './ebcdic.ts';
import {
  errorDescription,
  GATEWAY_ERROR_HEADER,
  type HttpEvent,
  type HttpResult,
  jsonResponse,
  requestIdOf,
} from './responses.ts';
import { duplicateJsonKey } from './strict-json.ts';

export { GATEWAY_ERROR_HEADER, type HttpEvent, type HttpResult, requestIdOf } from './responses.ts';

/** Sets the log correlation id to the API Gateway request id, which every response also carries. */
export function correlationId(): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    before: (request) => {
      logger.setCorrelationId(requestIdOf(request.event));
    },
  };
}

/**
 * Turns any failure into the API's error body `{error, error_description, request_id}` with
 * `x-gateway-error: true`. 4xx are logged at info, 5xx at error with the cause chain; neither ever
 * includes secrets or tokens.
 */
export function apiErrorHandler(): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    onError: (request) => {
      const error = toApiError(request.error);
      const requestId = requestIdOf(request.event);
      const details = { error: error.code, status: error.status, ...describeError(request.error) };
      if (error.status >= 500) logger.error('request failed', details);
      else logger.info('request refused', details);
      request.response = jsonResponse(
        error.status,
        { error: error.code, error_description: errorDescription(error.description), request_id: requestId },
        { ...error.headers, [GATEWAY_ERROR_HEADER]: 'true' },
      );
    },
  };
}

/** Refuses any method but the route's own with 405 and an Allow header. */
export function allowMethods(...methods: string[]): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    before: (request) => {
      const method = request.event.requestContext?.http?.method ?? '';
      if (!methods.includes(method)) {
        throw new ApiError('method_not_allowed', `use ${methods.join(' or ')}`, {
          headers: { allow: methods.join(', ') },
        });
      }
    },
  };
}

export interface JsonBodyOptions {
  readonly maxBytes: number;
}

/**
 * Parses and validates a JSON body against a strict zod schema: media type, size limit, UTF-8, syntax,
 * unique member names, and each field with its path in the message.
 */
export function parseJsonBody<Schema extends z.core.$ZodType>(
  event: HttpEvent,
  schema: Schema,
  options: JsonBodyOptions,
): z.output<Schema> {
  const contentType = event.headers?.['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new ApiError('unsupported_media_type', 'send the body as application/json');
  }
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : undefined;
  if ((bytes?.length ?? Buffer.byteLength(raw, 'utf8')) > options.maxBytes) {
    throw new ApiError('payload_too_large', `the body exceeds ${options.maxBytes} bytes`);
  }
  let text = raw;
  if (bytes) {
    try {
      // Fatal: a lenient decode turns invalid bytes into U+FFFD, a different subject than the one sent.
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const codePage = ebcdicCodePage(bytes, 'json');
      if (codePage) throw ebcdicBodyError(codePage);
      throw new ApiError('invalid_request', 'the body is not valid UTF-8');
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError('invalid_request', 'the body is not valid JSON');
  }
  const duplicate = duplicateJsonKey(text);
  if (duplicate !== undefined) {
    throw new ApiError('invalid_request', `field ${JSON.stringify(duplicate).slice(0, 80)} is sent twice`);
  }
  const result = z.safeParse(schema, parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.length ? issue.path.join('.') : 'body';
    throw new ApiError('invalid_request', `${field}: ${describeIssue(issue)}`);
  }
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid';
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_format') return 'contains characters that are not allowed';
  return issue.message;
}
