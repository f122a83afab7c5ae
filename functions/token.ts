// POST /v1/token, DELETE /v1/token and GET /v1/ready — see lib/http/handlers.ts.
import type { Context } from 'aws-lambda';
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { readinessHandler, tokenHandler } from '#lib/http/handlers.ts';
import type { HttpEvent } from '#lib/http/middleware.ts';

const gateway = gatewayFromEnvironment();
// Load and validate the configuration during Lambda init: a bad one fails the cold start, with the log
// line "gateway configuration invalid", instead of the first request.
await gateway();

const token = tokenHandler(gateway);
const ready = readinessHandler(gateway);

export const handler = (event: HttpEvent, context: Context) =>
  event.rawPath === '/v1/ready' ? ready(event, context) : token(event, context);
