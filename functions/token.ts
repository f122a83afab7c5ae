// POST /v1/token and DELETE /v1/token — see lib/http/handlers.ts.
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { tokenHandler } from '#lib/http/handlers.ts';

const gateway = gatewayFromEnvironment();
// Load and validate the configuration during Lambda init: a bad one fails the cold start, with the log
// line "gateway configuration invalid", instead of the first request.
await gateway();

export const handler = tokenHandler(gateway);
