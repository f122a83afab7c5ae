// GET /.well-known/jwks.json — see lib/http/jwks-handler.ts.
import { jwksHandler } from '#lib/http/jwks-handler.ts';
import { keyRingFromEnvironment } from '#lib/key-ring-composition.ts';

const keyRing = keyRingFromEnvironment();
// Load and validate the configuration during Lambda init: a bad one fails the cold start, with the log
// line "gateway configuration invalid", instead of the first request.
await keyRing();

export const handler = jwksHandler(keyRing);
