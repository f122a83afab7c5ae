import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { CallerCredentials } from '../policy/caller-policy.ts';

/** The parts of an HTTP API v2 request context that may identify a caller, whichever authorizer ran. */
interface AuthorizerContext {
  readonly iam?: { readonly userArn?: unknown };
  readonly lambda?: { readonly principalId?: unknown };
}

/**
 * Reads every credential an API Gateway HTTP API (payload v2) request can carry: `x-api-key`, the mutual
 * TLS client certificate's subject DN, the IAM principal of an IAM-authorized route, and the principal a
 * Lambda authorizer put in its context. Headers are already lower-cased by the header normalizer.
 */
export function callerCredentials(event: APIGatewayProxyEventV2): CallerCredentials {
  const context = event.requestContext as APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: AuthorizerContext;
  };
  // Only strings count: a null or otherwise odd member (an unusual authorizer, a hand-made test event)
  // must leave the caller unidentified, not fail the request.
  return {
    apiKey: text(event.headers?.['x-api-key']),
    mtlsSubject: text(context.authentication?.clientCert?.subjectDN),
    iamPrincipal: text(context.authorizer?.iam?.userArn),
    authorizerPrincipal: text(context.authorizer?.lambda?.principalId),
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
