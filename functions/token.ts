// POST /v1/token, DELETE /v1/token and the RFC 6749 facade POST /oauth2/{target}/token: one function, so
// both share one warm container, one token cache and one configuration — see lib/http/handlers.ts and
// lib/http/oauth-token-handler.ts.
import type { Context } from 'aws-lambda';
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { tokenHandler } from '#lib/http/handlers.ts';
import type { HttpEvent } from '#lib/http/middleware.ts';
import { isOAuthTokenRoute, oauthTokenHandler } from '#lib/http/oauth-token-handler.ts';

const gateway = gatewayFromEnvironment();
// Load and validate the configuration during Lambda init: a bad one fails the cold start, with the log
// line "gateway configuration invalid", instead of the first request.
await gateway();

const v1 = tokenHandler(gateway);
const facade = oauthTokenHandler(gateway);

export const handler = (event: HttpEvent, context: Context) =>
  isOAuthTokenRoute(event) ? facade(event, context) : v1(event, context);
