// The token function's routes (lib/http/routes.ts, fn 'token'): POST and DELETE /v1/token,
// POST /v1/token/invalidate, GET /v1/ready, the RFC 6749 facade POST /oauth2/{target}/token and proxy
// mode ANY /v1/call/{target}/{path+}; their handlers in lib/http/token-function-handlers.ts.
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { acceptingPayloadV1 } from '#lib/http/payload-v1.ts';
import { anyMethodResources, dispatcher } from '#lib/http/routes.ts';
import { tokenFunctionHandlers } from '#lib/http/token-function-handlers.ts';

const gateway = gatewayFromEnvironment();
// Load and validate the configuration during Lambda init: a bad one fails the cold start, with the log
// line "gateway configuration invalid", instead of the first request.
await gateway();

// The HTTP API sends payload 2.0, the private REST API 1.0 (lib/http/payload-v1.ts); proxy mode's REST
// method is ANY, as its HTTP API route is.
export const handler = acceptingPayloadV1(dispatcher('token', tokenFunctionHandlers(gateway)), {
  anyMethodResources: anyMethodResources('token'),
});
