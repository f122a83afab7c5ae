import type { GatewayProvider } from '../composition.ts';
import { callHandler } from './call-handler.ts';
import { readinessHandler, tokenHandler, tokenInvalidationHandler } from './handlers.ts';
import { oauthTokenHandler } from './oauth-token-handler.ts';
import type { HandlerMap } from './routes.ts';

/**
 * The token function's handlers, by the names its routes give in lib/http/routes.ts: one function,
 * because each is a token request (plus one HTTP call for proxy mode) with the same permissions and the
 * same in-memory token cache (docs/ARCHITECTURE.md); readiness checks exactly this function's
 * dependencies. Shared by functions/token.ts and the local server.
 */
export function tokenFunctionHandlers(gateway: GatewayProvider): HandlerMap<'token'> {
  return {
    token: tokenHandler(gateway),
    invalidation: tokenInvalidationHandler(gateway),
    ready: readinessHandler(gateway),
    call: callHandler(gateway),
    facade: oauthTokenHandler(gateway),
  };
}
