// GET /health — see lib/http/health-handler.ts.
import { healthHandler } from '#lib/http/health-handler.ts';

export const handler = healthHandler();
