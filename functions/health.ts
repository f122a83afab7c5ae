// GET /health — see lib/http/handlers.ts.
import { healthHandler } from '#lib/http/handlers.ts';

export const handler = healthHandler();
