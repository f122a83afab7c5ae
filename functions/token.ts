// POST /v1/token — see lib/http/handlers.ts.
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { tokenHandler } from '#lib/http/handlers.ts';

export const handler = tokenHandler(gatewayFromEnvironment());
