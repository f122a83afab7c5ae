// GET /.well-known/jwks.json — see lib/http/handlers.ts.
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { jwksHandler } from '#lib/http/handlers.ts';

const gateway = gatewayFromEnvironment();
// Load and validate the configuration during Lambda init: a bad one fails the cold start, with the log
// line "gateway configuration invalid", instead of the first request.
await gateway();

export const handler = jwksHandler(gateway);
