import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { CallerCredentials } from '../policy/caller-policy.ts';

/** The parts of an HTTP API v2 request context that may identify a caller, whichever authorizer ran. */
interface AuthorizerContext {
  readonly iam?: { readonly userArn?: string };
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
  const principal = context.authorizer?.lambda?.principalId;
  return {
    apiKey: event.headers?.['x-api-key'],
    mtlsSubject: context.authentication?.clientCert?.subjectDN,
    iamPrincipal: context.authorizer?.iam?.userArn,
    authorizerPrincipal: typeof principal === 'string' ? principal : undefined,
  };
}
