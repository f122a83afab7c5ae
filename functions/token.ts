// POST /v1/token, DELETE /v1/token, POST /v1/token/invalidate, GET /v1/ready (lib/http/handlers.ts), ANY /v1/call/{target}/{path+},
// proxy mode (lib/http/call-handler.ts), and the RFC 6749 facade POST /oauth2/{target}/token
// (lib/http/oauth-token-handler.ts): one function, because each is a token request (plus one HTTP call for
// proxy mode) with the same permissions and the same in-memory token cache (docs/ARCHITECTURE.md);
// readiness checks exactly this function's dependencies.
import type { Context } from 'aws-lambda';
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { CALL_ROUTE_KEY, callHandler } from '#lib/http/call-handler.ts';
import {
  isTokenInvalidationRoute,
  readinessHandler,
  tokenHandler,
  tokenInvalidationHandler,
} from '#lib/http/handlers.ts';
import type { HttpEvent } from '#lib/http/middleware.ts';
import { isOAuthTokenRoute, oauthTokenHandler } from '#lib/http/oauth-token-handler.ts';
import { acceptingPayloadV1 } from '#lib/http/payload-v1.ts';

const gateway = gatewayFromEnvironment();
// Load and validate the configuration during Lambda init: a bad one fails the cold start, with the log
// line "gateway configuration invalid", instead of the first request.
await gateway();

const token = tokenHandler(gateway);
const invalidation = tokenInvalidationHandler(gateway);
const ready = readinessHandler(gateway);
const call = callHandler(gateway);
const facade = oauthTokenHandler(gateway);

const route = (event: HttpEvent, context: Context) => {
  if (event.requestContext?.routeKey === CALL_ROUTE_KEY) return call(event, context);
  if (isOAuthTokenRoute(event)) return facade(event, context);
  // Before the token route: a POST here is an invalidation, never a token request.
  if (isTokenInvalidationRoute(event)) return invalidation(event, context);
  const readiness = event.requestContext?.routeKey === 'GET /v1/ready' || event.rawPath === '/v1/ready';
  return readiness ? ready(event, context) : token(event, context);
};

// The HTTP API sends payload 2.0, the private REST API 1.0 (lib/http/payload-v1.ts); proxy mode's REST
// method is ANY, as its HTTP API route is.
export const handler = acceptingPayloadV1(route, {
  anyMethodResources: [CALL_ROUTE_KEY.slice('ANY '.length)],
});
