// GET /.well-known/jwks.json (lib/http/routes.ts, fn 'jwks') — see lib/http/jwks-handler.ts.
import { jwksHandler } from '#lib/http/jwks-handler.ts';
import { acceptingPayloadV1 } from '#lib/http/payload-v1.ts';
import { dispatcher } from '#lib/http/routes.ts';
import { keyRingFromEnvironment } from '#lib/key-ring-composition.ts';

const keyRing = keyRingFromEnvironment();
// Load and validate the configuration during Lambda init: a bad one fails the cold start, with the log
// line "gateway configuration invalid", instead of the first request.
await keyRing();

// Payload 2.0 from the HTTP API, 1.0 from the private REST API.
export const handler = acceptingPayloadV1(dispatcher('jwks', { jwks: jwksHandler(keyRing) }));
