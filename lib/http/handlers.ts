import type { Context } from 'aws-lambda';
import { admissionReport } from '../admission/report.ts';
import type { GatewayProvider } from '../composition.ts';
import { withDeadline } from '../deadline.ts';
import { flushMetrics } from '../observability/metrics.ts';
import { callerCredentials } from './caller-credentials.ts';
import { parseJsonBody } from './middleware.ts';
import { tokenInvalidationBody, tokenRequestBody } from './request-schemas.ts';
import { type HttpEvent, type HttpResult, jsonResponse, requestIdOf } from './responses.ts';
import { requestDeadline, route } from './route.ts';
import type { ReadinessResponseBody, TokenInvalidationResponseBody, TokenResponseBody } from './schemas.ts';

// Each in its own file, so that their functions bundle neither zod nor the token route's code.
export { healthHandler } from './health-handler.ts';
export { jwksHandler } from './jwks-handler.ts';
export { deadlineBoundHandler, requestDeadline } from './route.ts';

/** Refused before parsing: a token request is a few hundred bytes, an invalidation carries a token (8 KiB at most). */
const MAX_BODY_BYTES = 16 * 1024;

// `POST /v1/token/invalidate` exists because CICS as an HTTP client bars a message body on DELETE (IBM,
// "HTTP method reference for CICS web support"), so a CICS program cannot send `DELETE /v1/token`'s
// invalidation; that route takes the same body and gives the same answers through the same code
// (`invalidate` below).

/**
 * `POST /v1/token`: parse, ask the broker, shape the response (`Cache-Status` says what the cache did).
 * `DELETE /v1/token`: the same body plus the `access_token` an API refused; drops it from the cache if it
 * is still the cached one.
 */
export function tokenHandler(gateway: GatewayProvider) {
  return route('POST', 'DELETE')
    .use(flushMetrics())
    .handler(async (event, context): Promise<HttpResult> => {
      if (event.requestContext.http.method === 'DELETE') return invalidate(gateway, event, context);
      const credentials = callerCredentials(event);
      const requestId = requestIdOf(event);
      // Answer (even with an error) before Lambda or API Gateway give up on us: every AWS call and
      // authorization server attempt below is bounded by this deadline.
      const deadline = requestDeadline(context);
      const body = parseJsonBody(event, tokenRequestBody, { maxBytes: MAX_BODY_BYTES });
      const { audited, policy, broker } = await gateway();
      const token = await audited('issue', { requestId, deadline, target: body.target }, async (facts) => {
        const caller = await policy.identify(credentials);
        facts.caller = caller;
        facts.subject = body.subject;
        return broker.getToken(policy.authorize(caller, { ...body, deadline }, 'named'));
      });
      const response: TokenResponseBody = {
        access_token: token.accessToken,
        token_type: token.tokenType,
        expires_in: token.expiresIn,
        expires_at: token.expiresAt,
        // Omitted, not "", when nothing was granted: RFC 6749 5.1 makes scope optional in a response.
        ...(token.scope ? { scope: token.scope } : {}),
      };
      // RFC 6749 5.1: responses carrying tokens must not be cached.
      return jsonResponse(200, response, { pragma: 'no-cache', 'cache-status': token.cache });
    });
}

/** `POST /v1/token/invalidate`: the invalidation of `DELETE /v1/token`, as a POST. */
export function tokenInvalidationHandler(gateway: GatewayProvider) {
  return route('POST')
    .use(flushMetrics())
    .handler((event, context) => invalidate(gateway, event, context));
}

/**
 * The one invalidation both routes serve: the token request body plus the `access_token` an API
 * refused; drops it from the cache only if it is still the cached one, after the same caller policy.
 */
async function invalidate(gateway: GatewayProvider, event: HttpEvent, context: Context): Promise<HttpResult> {
  const credentials = callerCredentials(event);
  const requestId = requestIdOf(event);
  // Bounded like a token request: the shared cache's DeleteItem is an AWS call.
  const deadline = requestDeadline(context);
  const { access_token: accessToken, ...request } = parseJsonBody(event, tokenInvalidationBody, {
    maxBytes: MAX_BODY_BYTES,
  });
  const { audited, policy, broker } = await gateway();
  const result: TokenInvalidationResponseBody = await audited(
    'invalidate',
    { requestId, deadline, target: request.target },
    async (facts) => {
      const caller = await policy.identify(credentials);
      facts.caller = caller;
      facts.subject = request.subject;
      // Only tokens the caller could have obtained: the token request's policy, whoever proved the user.
      return broker.invalidateToken(
        policy.authorize(caller, { ...request, deadline }, 'proven'),
        accessToken,
      );
    },
  );
  return jsonResponse(200, result);
}

/**
 * `GET /v1/ready` (token function): whether every dependency of the token function answers, one result
 * each, for a known caller only (the same credentials as `POST /v1/token`). 200 when all are ready, 503
 * when any is not; the report is shared for 30 s, so polling cannot hammer KMS, Secrets Manager,
 * DynamoDB or an authorization server.
 */
export function readinessHandler(gateway: GatewayProvider) {
  return route('GET').handler(async (event, context): Promise<HttpResult> => {
    const { policy, readiness, admission, config } = await gateway();
    const deadline = requestDeadline(context);
    // Identifying the caller may read API key hashes from Secrets Manager: bounded like everything else.
    await withDeadline(deadline, () => policy.identify(callerCredentials(event)));
    const report: ReadinessResponseBody = {
      ...(await readiness.report(deadline)),
      admission: await withDeadline(deadline, () => admissionReport(admission, config)),
      request_id: requestIdOf(event),
    };
    return jsonResponse(report.status === 'ready' ? 200 : 503, report);
  });
}
