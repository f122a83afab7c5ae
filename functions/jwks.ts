// GET /.well-known/jwks.json — see lib/http/handlers.ts.
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { jwksHandler } from '#lib/http/handlers.ts';

export const handler = jwksHandler(gatewayFromEnvironment());
