import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { GatewayProvider } from '../composition.ts';
import { withBodyClientCredentials } from '../facade/client-credentials.ts';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../facade/grant-request.ts';
import { oauthErrorHandler } from '../facade/oauth-errors.ts';
import { validateTokenForm } from '../facade/token-form.ts';
import { flushMetrics } from '../observability/metrics.ts';
import { callerCredentials } from './caller-credentials.ts';
import { parseFormBody } from './form-body.ts';
import { deadlineBoundHandler, requestDeadline } from './handlers.ts';
import { allowMethods, correlationId, type HttpEvent, type HttpResult, requestIdOf } from './middleware.ts';
import type { OAuthTokenResponseBody } from './schemas.ts';

/** A token request is a few hundred bytes; an identity token (subject_token) at most 8 KiB. */
const MAX_FORM_BYTES = 16 * 1024;

/** The facade's route, as API Gateway names it; the local server uses the same key. */
export const OAUTH_TOKEN_ROUTE = 'POST /oauth2/{target}/token';

/**
 * `POST /oauth2/{target}/token`: an RFC 6749 token endpoint per target, so that z/OS Connect (or any
 * OAuth client that speaks only `password` and `client_credentials`) obtains end-user tokens by changing
 * nothing but its `tokenEndpoint`. The client credentials are the caller's; the grant names (or, with
 * token exchange, proves) the end user; the same broker, policy, cache, audit and metrics as
 * `POST /v1/token` do the rest.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5
 */
export function oauthTokenHandler(gateway: GatewayProvider) {
  return deadlineBoundHandler()
    .use(httpHeaderNormalizer())
    .use(correlationId())
    .use(allowMethods('POST'))
    .use(oauthErrorHandler())
    .use(flushMetrics())
    .handler(async (event, context): Promise<HttpResult> => {
      const requestId = requestIdOf(event);
      const deadline = requestDeadline(context);
      const target = targetOf(event);
      const form = parseFormBody(event, { maxBytes: MAX_FORM_BYTES });
      validateTokenForm(form);
      const credentials = withBodyClientCredentials(callerCredentials(event), form);
      const { audited, policy, grants, broker } = await gateway();
      const token = await audited('issue', { requestId, deadline, target }, async (facts) => {
        const caller = await policy.identify(credentials);
        facts.caller = caller;
        // What the grant means depends on the caller (its password handling, identity tokens, caching).
        const grant = await grants.resolve(caller, target, form, deadline);
        facts.subject = grant.request.subject;
        // 'proven': grant resolution already refused a named user to a caller that must prove them.
        const authorized = policy.authorize(caller, grant.request, 'proven');
        return broker.getToken(authorized, grant);
      });
      const body: OAuthTokenResponseBody = {
        access_token: token.accessToken,
        token_type: token.tokenType,
        expires_in: token.expiresIn,
        ...(token.scope ? { scope: token.scope } : {}),
        ...(form.get('grant_type') === TOKEN_EXCHANGE_GRANT ? { issued_token_type: ACCESS_TOKEN_TYPE } : {}),
      };
      return {
        statusCode: 200,
        // RFC 6749 5.1: no-store and no-cache on every response carrying a token.
        headers: {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          pragma: 'no-cache',
          'cache-status': token.cache,
        },
        body: JSON.stringify(body),
      };
    });
}

/** The `{target}` path parameter; from the path itself where no router filled it in. */
function targetOf(event: HttpEvent): string {
  const fromRoute = event.pathParameters?.target;
  if (fromRoute !== undefined) return fromRoute;
  const match = /\/oauth2\/([^/]+)\/token$/.exec(event.rawPath ?? '');
  try {
    return match ? decodeURIComponent(match[1]!) : '';
  } catch {
    return '';
  }
}
