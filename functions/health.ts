// GET /health — see lib/http/health-handler.ts.
import { healthHandler } from '#lib/http/health-handler.ts';
import { acceptingPayloadV1 } from '#lib/http/payload-v1.ts';

// Payload 2.0 from the HTTP API, 1.0 from the private REST API.
export const handler = acceptingPayloadV1(healthHandler());
