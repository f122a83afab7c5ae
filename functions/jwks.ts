// GET /.well-known/jwks.json — see lib/http/handlers.ts.
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { jwksHandler } from '#lib/http/handlers.ts';

// It uses only the signing keys: the other sections' placeholders (the cache key, the table) may be unset,
// since serverless.yml gives this function only the signing key variables.
const gateway = gatewayFromEnvironment(process.env, { placeholdersRequiredUnder: ['signingKeys'] });
// Load and validate the configuration during Lambda init: a bad one fails the cold start, with the log
// line "gateway configuration invalid", instead of the first request.
await gateway();

export const handler = jwksHandler(gateway);
