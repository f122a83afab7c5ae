// GET /health (lib/http/routes.ts, fn 'health') — see lib/http/health-handler.ts.
import { healthHandler } from '#lib/http/health-handler.ts';
import { acceptingPayloadV1 } from '#lib/http/payload-v1.ts';
import { dispatcher } from '#lib/http/routes.ts';

// Payload 2.0 from the HTTP API, 1.0 from the private REST API.
export const handler = acceptingPayloadV1(dispatcher('health', { health: healthHandler() }));
